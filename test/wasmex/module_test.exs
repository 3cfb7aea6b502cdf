defmodule Wasmex.ModuleTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance, Module}

  @answer ~S[(module (func (export "answer") (result i32) i32.const 42))]

  @exports_wat ~S"""
  (module $exporter
    (func (export "no_args"))
    (func (export "all_types") (param i32 i64 f32 f64 v128) (result v128 f64 f32 i64 i32)
      local.get 4 local.get 3 local.get 2 local.get 1 local.get 0)
    (func (export "funcref") (param funcref) (result externref) ref.null extern)
    (global (export "const_i32") i32 (i32.const 1))
    (global (export "var_i64") (mut i64) (i64.const 2))
    (global (export "const_f32") f32 (f32.const 3))
    (global (export "var_f64") (mut f64) (f64.const 4))
    (global (export "var_v128") (mut v128) (v128.const i64x2 0 0))
    (global (export "const_externref") externref (ref.null extern))
    (memory (export "memory") 1)
    (table (export "table") 2 10 funcref))
  """

  @imports_wat ~S"""
  (module
    (import "env" "sum" (func (param i32 i32) (result i32)))
    (import "env" "log" (func (param f64)))
    (import "env" "counter" (global (mut i64)))
    (import "other" "limit" (global f32))
    (import "other" "memory" (memory 1 4))
    (import "other" "table" (table 3 funcref)))
  """

  describe "compile/2" do
    test "compiles WAT text" do
      assert {:ok, %Module{} = handle} = Module.compile(store!(), @answer)
      assert_handle(handle)
    end

    test "compiles wasm bytes" do
      {:ok, wasm} = Wasmex.Wat.to_wasm(@answer)
      store = store!()
      assert {:ok, module} = Module.compile(store, wasm)
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "compiles the committed WASI fixture" do
      assert {:ok, %Module{}} =
               Module.compile(store!(), File.read!(fixture_path("wasi_p1_hello.wasm")))
    end

    for {name, source, prefix, expected} <- [
          {"malformed WAT is an 'Error while parsing bytes' error", "(module",
           "Error while parsing bytes: ", "expected `)`"},
          {"a module that does not validate is a 'Could not compile module' error",
           "(module (func (result i32)))", "Could not compile module: ", "type mismatch"}
        ] do
      test name do
        assert {:error, unquote(prefix) <> detail} = Module.compile(store!(), unquote(source))
        assert detail =~ unquote(expected)
      end
    end

    test "text that is not WAT at all is an 'Error while parsing bytes' error" do
      assert {:error, "Error while parsing bytes: " <> _} = Module.compile(store!(), "not wasm")
    end

    test "truncated wasm bytes are an error" do
      assert {:error, reason} = Module.compile(store!(), <<0, "asm", 1, 0, 0, 0, 99>>)

      assert String.starts_with?(reason, "Error while parsing bytes: ") or
               String.starts_with?(reason, "Could not compile module: ")
    end

    test "an empty binary is an error" do
      assert {:error, reason} = Module.compile(store!(), "")
      assert is_binary(reason)
    end

    test "compiles with the store's engine" do
      {:ok, engine} = Engine.new(%EngineConfig{memory64: true})
      assert {:ok, _} = Module.compile(store!(nil, engine), ~S[(module (memory i64 1))])
    end

    test "rejects a non-binary" do
      assert_raise FunctionClauseError, fn -> Module.compile(store!(), ~c"(module)") end
    end
  end

  describe "name/1" do
    test "is the name from the name section" do
      assert Module.name(compile!(store!(), @exports_wat)) == "exporter"
    end

    test "is nil without a name" do
      assert Module.name(compile!(store!(), @answer)) == nil
    end
  end

  describe "exports/1" do
    setup do
      %{exports: Module.exports(compile!(store!(), @exports_wat))}
    end

    test "lists every export by name", %{exports: exports} do
      assert exports |> Map.keys() |> Enum.sort() ==
               Enum.sort([
                 "no_args",
                 "all_types",
                 "funcref",
                 "const_i32",
                 "var_i64",
                 "const_f32",
                 "var_f64",
                 "var_v128",
                 "const_externref",
                 "memory",
                 "table"
               ])
    end

    test "describes functions as {:fn, params, results}", %{exports: exports} do
      assert exports["no_args"] == {:fn, [], []}

      assert exports["all_types"] ==
               {:fn, [:i32, :i64, :f32, :f64, :v128], [:v128, :f64, :f32, :i64, :i32]}

      assert exports["funcref"] ==
               {:fn, [{:reference, "(ref null func)"}], [{:reference, "(ref null extern)"}]}
    end

    test "describes globals with their mutability and type", %{exports: exports} do
      assert exports["const_i32"] == {:global, %{mutability: :const, type: :i32}}
      assert exports["var_i64"] == {:global, %{mutability: :var, type: :i64}}
      assert exports["const_f32"] == {:global, %{mutability: :const, type: :f32}}
      assert exports["var_f64"] == {:global, %{mutability: :var, type: :f64}}
      assert exports["var_v128"] == {:global, %{mutability: :var, type: :v128}}

      assert exports["const_externref"] ==
               {:global, %{mutability: :const, type: {:reference, "(ref null extern)"}}}
    end

    test "describes memories", %{exports: exports} do
      assert exports["memory"] == {:memory, %{minimum: 1, shared: false, memory64: false}}
    end

    test "describes tables", %{exports: exports} do
      assert exports["table"] ==
               {:table, %{minimum: 2, maximum: 10, type: {:reference, "(ref null func)"}}}
    end

    test "includes the maximum of a memory only when it has one" do
      exports = Module.exports(compile!(store!(), ~S[(module (memory (export "m") 1 3))]))
      assert exports["m"] == {:memory, %{minimum: 1, maximum: 3, shared: false, memory64: false}}
    end

    test "marks shared memories" do
      exports = Module.exports(compile!(store!(), ~S[(module (memory (export "m") 1 2 shared))]))
      assert exports["m"] == {:memory, %{minimum: 1, maximum: 2, shared: true, memory64: false}}
    end

    test "marks 64-bit memories" do
      {:ok, engine} = Engine.new(%EngineConfig{memory64: true})

      exports =
        Module.exports(compile!(store!(nil, engine), ~S[(module (memory (export "m") i64 2))]))

      assert exports["m"] == {:memory, %{minimum: 2, shared: false, memory64: true}}
    end

    test "is empty for a module without exports" do
      assert Module.exports(compile!(store!(), "(module)")) == %{}
    end
  end

  describe "imports/1" do
    setup do
      %{imports: Module.imports(compile!(store!(), @imports_wat))}
    end

    test "groups imports by namespace", %{imports: imports} do
      assert imports |> Map.keys() |> Enum.sort() == ["env", "other"]
      assert imports["env"] |> Map.keys() |> Enum.sort() == ["counter", "log", "sum"]
      assert imports["other"] |> Map.keys() |> Enum.sort() == ["limit", "memory", "table"]
    end

    test "describes imported functions", %{imports: imports} do
      assert imports["env"]["sum"] == {:fn, [:i32, :i32], [:i32]}
      assert imports["env"]["log"] == {:fn, [:f64], []}
    end

    test "describes imported globals", %{imports: imports} do
      assert imports["env"]["counter"] == {:global, %{mutability: :var, type: :i64}}
      assert imports["other"]["limit"] == {:global, %{mutability: :const, type: :f32}}
    end

    test "describes imported memories and tables", %{imports: imports} do
      assert imports["other"]["memory"] ==
               {:memory, %{minimum: 1, maximum: 4, shared: false, memory64: false}}

      assert imports["other"]["table"] ==
               {:table, %{minimum: 3, type: {:reference, "(ref null func)"}}}
    end

    test "is empty for a module without imports" do
      assert Module.imports(compile!(store!(), @answer)) == %{}
    end
  end

  describe "serialize/1" do
    test "returns a binary" do
      assert {:ok, bin} = Module.serialize(compile!(store!(), @answer))
      assert is_binary(bin) and byte_size(bin) > 0
    end
  end

  describe "unsafe_deserialize/2" do
    test "round trips a module through serialize/1 (default engine)" do
      original = compile!(store!(), @exports_wat)
      assert {:ok, bin} = Module.serialize(original)
      assert {:ok, %Module{} = module} = Module.unsafe_deserialize(bin)
      assert Module.exports(module) == Module.exports(original)
      assert Module.name(module) == "exporter"

      store = store!()
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [5, 4.0, 3.0, 2, 1]} = call(store, instance, "all_types", [1, 2, 3.0, 4.0, 5])
    end

    test "round trips with an explicit engine" do
      {:ok, engine} = Engine.new(%EngineConfig{cranelift_opt_level: :speed})
      store = store!(nil, engine)
      assert {:ok, bin} = Module.serialize(compile!(store, @answer))
      assert {:ok, module} = Module.unsafe_deserialize(bin, engine)
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "loads the output of Engine.precompile_module/2" do
      engine = Engine.default()
      {:ok, bin} = Engine.precompile_module(engine, @answer)
      assert {:ok, module} = Module.unsafe_deserialize(bin, engine)
      assert Module.exports(module) == %{"answer" => {:fn, [], [:i32]}}
    end

    test "garbage is a 'Could not deserialize module' error" do
      assert {:error, "Could not deserialize module: " <> _} =
               Module.unsafe_deserialize("definitely not a module")
    end

    test "plain wasm bytes are not a serialized module" do
      {:ok, wasm} = Wasmex.Wat.to_wasm(@answer)
      assert {:error, "Could not deserialize module: " <> _} = Module.unsafe_deserialize(wasm)
    end

    test "an engine configured differently is rejected" do
      {:ok, bin} = Module.serialize(compile!(store!(), @answer))
      {:ok, fuel_engine} = Engine.new(%EngineConfig{consume_fuel: true})

      assert {:error, "Could not deserialize module: " <> _} =
               Module.unsafe_deserialize(bin, fuel_engine)
    end
  end

  test "a module can be shared by processes and instantiated concurrently" do
    module = compile!(store!(), @answer)

    results =
      1..8
      |> Enum.map(fn _ ->
        Task.async(fn ->
          store = store!()
          {:ok, instance} = Instance.new(store, module, %{})
          call(store, instance, "answer", [])
        end)
      end)
      |> Task.await_many(10_000)

    assert Enum.all?(results, &(&1 == {:ok, [42]}))
  end
end
