defmodule Wasmex.InstanceTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Memory, WatFixtures}

  # Failing import callbacks are logged; keep the test output clean.
  @moduletag :capture_log

  @max_i32 2_147_483_647
  @min_i32 -2_147_483_648
  @max_i64 9_223_372_036_854_775_807
  @max_v128 340_282_366_920_938_463_463_374_607_431_768_211_455

  # A module importing `env.f`, a function taking an i32.
  @f_i32 ~S[(module (import "env" "f" (func (param i32))))]

  @globals ~S"""
  (module
    (global $i32 (export "i32") (mut i32) (i32.const -7))
    (global (export "i64") (mut i64) (i64.const 9007199254740993))
    (global (export "f32") (mut f32) (f32.const 1.5))
    (global (export "f64") (mut f64) (f64.const 2.25))
    (global (export "v128") (mut v128) (v128.const i64x2 1 2))
    (global (export "const") i32 (i32.const 1))
    (global (export "externref") (mut externref) (ref.null extern))
    (func (export "read_i32") (result i32) global.get $i32)
    (func (export "fn")))
  """

  defp calls!, do: instantiate!(WatFixtures.calls())

  defp calls(_context) do
    {store, _module, instance} = calls!()
    %{store: store, instance: instance}
  end

  defp globals(_context) do
    {store, _module, instance} = instantiate!(@globals)
    %{store: store, instance: instance}
  end

  describe "new/4" do
    test "instantiates a module" do
      store = store!()
      module = compile!(store, WatFixtures.calls())

      assert {:ok, %Instance{resource: resource, reference: reference}} =
               Instance.new(store, module, %{})

      assert is_reference(resource) and is_reference(reference)
    end

    test "the same module can be instantiated many times, each with its own state" do
      store = store!()
      module = compile!(store, @globals)
      {:ok, a} = Instance.new(store, module, %{})
      {:ok, b} = Instance.new(store, module, %{})
      assert :ok = Instance.set_global_value(store, a, "i32", 1)
      assert {:ok, 1} = Instance.get_global_value(store, a, "i32")
      assert {:ok, -7} = Instance.get_global_value(store, b, "i32")
    end

    test "a missing import is an error" do
      assert instantiate_error!(~S[(module (import "env" "f" (func)))]) ==
               "unknown import: `env::f` has not been defined"
    end

    test "an import with the wrong signature is an error" do
      imports = %{"env" => %{"f" => {:fn, [:i64], [], fn _ctx, _x -> nil end}}}

      assert "incompatible import type for `env::f`" <> _ = instantiate_error!(@f_i32, imports)
    end

    test "an unknown value type in an import is an error" do
      imports = %{env: %{f: {:fn, [:i31], [], fn _ctx, _x -> nil end}}}
      assert instantiate_error!(@f_i32, imports) =~ "unknown"
    end

    test "a value type that is not an atom is an error" do
      imports = %{env: %{f: {:fn, ["i32"], [], fn _ctx, _x -> nil end}}}
      assert instantiate_error!(@f_i32, imports) =~ "not_an_atom"
    end

    test "an import that is not {:fn, ...} is an error" do
      imports = %{env: %{g: {:global, :i32, 1}}}
      wat = ~S[(module (import "env" "g" (global i32)))]
      assert instantiate_error!(wat, imports) =~ "unknown import type"
    end

    test "import namespaces and names may be atoms or strings" do
      wat = ~S"""
      (module
        (import "env" "one" (func $one (result i32)))
        (import "more" "two" (func $two (result i32)))
        (func (export "run") (result i32) call $one call $two i32.add))
      """

      imports = %{
        :env => %{"one" => {:fn, [], [:i32], fn _ctx -> 1 end}},
        "more" => %{two: {:fn, [], [:i32], fn _ctx -> 2 end}}
      }

      {store, _module, instance} = instantiate!(wat, imports)
      assert {:ok, [3]} = call(store, instance, "run", [])
    end

    test "runs the start function, which may call an Elixir import" do
      test = self()

      wat = ~S"""
      (module
        (import "env" "started" (func $started (param i32)))
        (global $g (export "g") (mut i32) (i32.const 0))
        (func $start (global.set $g (i32.const 5)) (call $started (i32.const 7)))
        (start $start))
      """

      imports = %{env: %{started: {:fn, [:i32], [], fn _ctx, x -> send(test, {:started, x}) end}}}
      {store, _module, instance} = instantiate!(wat, imports)
      assert_received {:started, 7}
      assert {:ok, 5} = Instance.get_global_value(store, instance, "g")
    end

    test "a trapping start function is an error, not a crash" do
      assert instantiate_error!(~S[(module (func $s unreachable) (start $s))]) =~ "unreachable"
    end

    test "links a module registered under a name" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module (func (export "add1") (param i32) (result i32) local.get 0 i32.const 1 i32.add))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "add1" (func $add1 (param i32) (result i32)))
          (func (export "run") (param i32) (result i32) local.get 0 call $add1))
        """)

      assert {:ok, instance} = Instance.new(store, main, %{}, [%{name: "dep", module: dep}])
      assert {:ok, [42]} = call(store, instance, "run", [41])
    end

    test "links a chain of modules, dependencies first" do
      store = store!()

      c = compile!(store, ~S[(module (func (export "c") (result i32) i32.const 100))])

      b =
        compile!(store, ~S"""
        (module
          (import "c" "c" (func $c (result i32)))
          (func (export "b") (result i32) call $c i32.const 10 i32.add))
        """)

      a =
        compile!(store, ~S"""
        (module
          (import "b" "b" (func $b (result i32)))
          (func (export "a") (result i32) call $b i32.const 1 i32.add))
        """)

      links = [%{name: "c", module: c}, %{name: "b", module: b}]
      assert {:ok, instance} = Instance.new(store, a, %{}, links)
      assert {:ok, [111]} = call(store, instance, "a", [])
    end

    test "linked modules share memory with the main module" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module
          (memory (export "memory") 1)
          (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "memory" (memory 1))
          (import "dep" "peek" (func $peek (param i32) (result i32)))
          (func (export "poke_then_peek") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.store8
            local.get 0 call $peek))
        """)

      assert {:ok, instance} = Instance.new(store, main, %{}, [%{name: "dep", module: dep}])
      assert {:ok, [200]} = call(store, instance, "poke_then_peek", [10, 200])
    end

    test "linked modules can use the Elixir imports" do
      store = store!()

      dep =
        compile!(store, ~S"""
        (module
          (import "env" "triple" (func $triple (param i32) (result i32)))
          (func (export "f") (param i32) (result i32) local.get 0 call $triple))
        """)

      main =
        compile!(store, ~S"""
        (module
          (import "dep" "f" (func $f (param i32) (result i32)))
          (func (export "run") (param i32) (result i32) local.get 0 call $f))
        """)

      imports = %{env: %{triple: {:fn, [:i32], [:i32], fn _ctx, x -> 3 * x end}}}
      assert {:ok, instance} = Instance.new(store, main, imports, [%{name: "dep", module: dep}])
      assert {:ok, [21]} = call(store, instance, "run", [7])
    end

    test "a link that is missing is an unknown import" do
      store = store!()

      main = compile!(store, ~S[(module (import "dep" "add1" (func (param i32) (result i32))))])

      assert {:error, "unknown import: `dep::add1` has not been defined"} =
               Instance.new(store, main, %{}, [])
    end
  end

  describe "function_export_exists/3" do
    setup :calls

    test "is true for an exported function", %{store: store, instance: instance} do
      assert Instance.function_export_exists(store, instance, "sum") == true
    end

    test "accepts an atom name", %{store: store, instance: instance} do
      assert Instance.function_export_exists(store, instance, :sum) == true
    end

    test "is false for a missing name", %{store: store, instance: instance} do
      assert Instance.function_export_exists(store, instance, "nope") == false
    end

    test "is false for exports that are not functions", %{store: store, instance: instance} do
      assert Instance.function_export_exists(store, instance, "a_global") == false
      assert Instance.function_export_exists(store, instance, "memory") == false
    end
  end

  describe "get_global_value/3" do
    setup :globals

    test "reads globals of every numeric type", %{store: store, instance: instance} do
      assert {:ok, -7} = Instance.get_global_value(store, instance, "i32")
      assert {:ok, 9_007_199_254_740_993} = Instance.get_global_value(store, instance, "i64")
      assert {:ok, 1.5} = Instance.get_global_value(store, instance, "f32")
      assert {:ok, 2.25} = Instance.get_global_value(store, instance, "f64")
      assert {:ok, v128} = Instance.get_global_value(store, instance, "v128")
      assert v128 == 2 * 18_446_744_073_709_551_616 + 1
      assert {:ok, 1} = Instance.get_global_value(store, instance, "const")
    end

    test "a missing global is an error", %{store: store, instance: instance} do
      assert {:error, "exported global `x` not found"} =
               Instance.get_global_value(store, instance, "x")
    end

    test "a function export is not a global", %{store: store, instance: instance} do
      assert {:error, "exported global `fn` not found"} =
               Instance.get_global_value(store, instance, "fn")
    end

    test "reference globals cannot be read", %{store: store, instance: instance} do
      assert {:error, "unable_to_return_extern_ref_type"} =
               Instance.get_global_value(store, instance, "externref")
    end
  end

  describe "set_global_value/4" do
    setup :globals

    test "sets globals of every numeric type", %{store: store, instance: instance} do
      assert :ok = Instance.set_global_value(store, instance, "i32", @min_i32)
      assert {:ok, @min_i32} = Instance.get_global_value(store, instance, "i32")
      assert :ok = Instance.set_global_value(store, instance, "i64", @max_i64)
      assert {:ok, @max_i64} = Instance.get_global_value(store, instance, "i64")
      assert :ok = Instance.set_global_value(store, instance, "f32", -2.5)
      assert {:ok, -2.5} = Instance.get_global_value(store, instance, "f32")
      assert :ok = Instance.set_global_value(store, instance, "f64", 7)
      assert {:ok, 7.0} = Instance.get_global_value(store, instance, "f64")
      assert :ok = Instance.set_global_value(store, instance, "v128", @max_v128)
      assert {:ok, @max_v128} = Instance.get_global_value(store, instance, "v128")
    end

    test "the guest sees the new value", %{store: store, instance: instance} do
      assert :ok = Instance.set_global_value(store, instance, "i32", 123)
      assert {:ok, [123]} = call(store, instance, "read_i32", [])
    end

    test "an immutable global cannot be set", %{store: store, instance: instance} do
      assert {:error, "Could not set global: immutable global cannot be set"} =
               Instance.set_global_value(store, instance, "const", 2)

      assert {:ok, 1} = Instance.get_global_value(store, instance, "const")
    end

    test "a missing global is an error", %{store: store, instance: instance} do
      assert {:error, "exported global `x` not found"} =
               Instance.set_global_value(store, instance, "x", 1)
    end

    test "a value of the wrong kind is an error", %{store: store, instance: instance} do
      assert {:error, "Cannot convert to a WebAssembly i32 value. Given `Atom`."} =
               Instance.set_global_value(store, instance, "i32", :one)

      assert {:error, "Cannot convert to a WebAssembly i64 value."} =
               Instance.set_global_value(store, instance, "i64", 1.5)
    end

    test "a value out of range is an error, not wrapped", %{store: store, instance: instance} do
      assert {:error, "Cannot convert to a WebAssembly i32 value."} =
               Instance.set_global_value(store, instance, "i32", @max_i32 + 1)

      assert {:error, "Cannot convert to a WebAssembly f32 value."} =
               Instance.set_global_value(store, instance, "f32", 3.5e38)

      assert {:ok, -7} = Instance.get_global_value(store, instance, "i32")
    end
  end

  describe "memory/2" do
    test "returns the exported memory" do
      {store, _module, instance} = calls!()
      assert {:ok, %Memory{} = memory} = Instance.memory(store, instance)
      assert Memory.size(store, memory) == 65_536
    end

    test "is an error without an exported memory" do
      {store, _module, instance} = instantiate!("(module)")

      assert {:error, "The WebAssembly module has no exported memory."} =
               Instance.memory(store, instance)
    end
  end
end
