defmodule Wasmex.Features.WinchTest do
  # The Winch baseline compiler (`EngineConfig.compiler(config, :winch)`): the same guests give
  # the same results as with Cranelift, and the execution model's bounds (deadlines through epoch
  # interruption, fuel) hold for code Winch compiled.
  use Wasmex.ComponentCase, async: true

  alias Wasmex.{Components, Engine, EngineConfig, StoreOrCaller}

  @core_wat ~S"""
  (module
    (memory (export "memory") 1)
    (data (i32.const 0) "wasmex")
    (func $fib (export "fib") (param i64) (result i64)
      (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
        (then (local.get 0))
        (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                       (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
    (func (export "sum_bytes") (param i32 i32) (result i32)
      (local $acc i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get 1)))
          (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get 0))))
          (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
          (br $next)))
      (local.get $acc))
    (func (export "mix") (param i32 i64 f32 f64) (result f64 i32)
      (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
               (f64.mul (f64.promote_f32 (local.get 2)) (local.get 3)))
      (i32.wrap_i64 (i64.rotl (local.get 1) (i64.const 7))))
    (func (export "sum") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "spin") (loop $l (br $l))))
  """

  @core_calls [
    {"fib", [20]},
    {"sum_bytes", [0, 6]},
    {"mix", [-3, 1_000_000_007, 1.5, -2.25]},
    {"sum", [2_147_483_647, 1]}
  ]

  @component_calls [
    {"add", [4_000_000_000, 500_000_000]},
    {"echo-string", ["héllo"]},
    {"echo-list-string", [["a", "bc", ""]]},
    {"make-points", [4]},
    {"echo-f64", [-0.5]},
    {"echo-kebab-record",
     [
       %{
         "first-name": "Ada",
         "age-years": 36,
         tags: ["x"],
         "maybe-points": {:some, [%{x: 1, y: -1}]}
       }
     ]},
    {"string-length", ["wasmex"]},
    {["wasmex:test/math@0.1.0", "add"], [1, 2]}
  ]

  defp engine!(compiler, config \\ %EngineConfig{}) do
    assert {:ok, engine} = Engine.new(EngineConfig.compiler(config, compiler))
    engine
  end

  defp core_server!(compiler, config \\ %EngineConfig{}) do
    store = store!(nil, engine!(compiler, config))
    {start_wasmex!(%{bytes: @core_wat, store: store}), store}
  end

  defp component_server!(compiler) do
    assert {:ok, store} = Components.Store.new(nil, engine!(compiler))
    start_component!("component_types", store: store)
  end

  describe "results" do
    test "a core module's calls answer as with Cranelift" do
      results =
        for compiler <- [:cranelift, :winch] do
          {pid, _store} = core_server!(compiler)
          for {name, args} <- @core_calls, do: Wasmex.call_function(pid, name, args)
        end

      assert [cranelift, winch] = results
      assert winch == cranelift
      assert [{:ok, [6765]}, {:ok, [661]}, {:ok, [_, _]}, {:ok, [-2_147_483_648]}] = winch
    end

    test "a component's calls answer as with Cranelift" do
      results =
        for compiler <- [:cranelift, :winch] do
          pid = component_server!(compiler)
          for {name, args} <- @component_calls, do: Components.call_function(pid, name, args)
        end

      assert [cranelift, winch] = results
      assert winch == cranelift
      assert [{:ok, 205_032_704}, {:ok, "héllo"} | _] = winch
      assert Enum.all?(winch, &match?({:ok, _}, &1))
    end

    test "a trap is reported as with Cranelift" do
      for compiler <- [:cranelift, :winch] do
        pid = component_server!(compiler)
        assert {:error, reason} = Components.call_function(pid, "trap", [])
        assert reason =~ "unreachable"
      end
    end
  end

  describe "bounds" do
    test "a spinning core guest is stopped at its deadline and the server answers again" do
      {pid, _store} = core_server!(:winch)
      {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, "spin", [], 200) end)
      assert result == {:error, :timeout}
      assert ms < 2_000, "the deadline of 200 ms was kept only after #{ms} ms"
    end

    test "a spinning component guest is stopped at its deadline" do
      pid = component_server!(:winch)
      {ms, result} = timed_ms(fn -> Components.call_function(pid, "spin", [], 200) end)
      assert result == {:error, :timeout}
      assert ms < 2_000, "the deadline of 200 ms was kept only after #{ms} ms"
    end

    test "fuel is counted: a spinning guest runs out and a refuelled store runs again" do
      {pid, store} = core_server!(:winch, %EngineConfig{consume_fuel: true})
      assert :ok = StoreOrCaller.set_fuel(store, 10_000)

      assert {:error, reason} = Wasmex.call_function(pid, "spin", [])
      assert reason =~ "all fuel consumed"
      assert {:ok, 0} = StoreOrCaller.get_fuel(store)

      assert :ok = StoreOrCaller.set_fuel(store, 1_000)
      assert {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2])
      assert {:ok, left} = StoreOrCaller.get_fuel(store)
      assert left > 0 and left < 1_000
    end
  end

  describe "settings Winch cannot honour" do
    test "debug_info is refused naming both options" do
      config = EngineConfig.compiler(%EngineConfig{debug_info: true}, :winch)

      assert Engine.new(config) ==
               {:error,
                "compiler :winch does not support debug_info: true (Winch emits no native debug information)"}
    end

    test "a compiler the NIF does not know is refused" do
      assert Engine.new(%EngineConfig{compiler: :llvm}) ==
               {:error, "compiler must be :cranelift or :winch"}
    end

    test "a proposal Winch leaves out fails the compile, not the call" do
      tail_call =
        ~S[(module (func $f (export "f") (result i32) (return_call $g)) (func $g (result i32) i32.const 1))]

      assert {:ok, _} = Wasmex.Module.compile(store!(nil, engine!(:cranelift)), tail_call)
      assert {:error, reason} = Wasmex.Module.compile(store!(nil, engine!(:winch)), tail_call)
      assert reason =~ "tail calls support is not enabled"
    end

    test "cranelift_opt_level is accepted and has no effect on results" do
      config = EngineConfig.cranelift_opt_level(%EngineConfig{}, :speed)
      store = store!(nil, engine!(:winch, config))
      pid = start_wasmex!(%{bytes: @core_wat, store: store})
      assert {:ok, [6765]} = Wasmex.call_function(pid, "fib", [20])
    end
  end

  describe "precompiled modules" do
    test "load only in an engine of the compiler that made them" do
      wat = ~S[(module (func (export "f") (result i32) i32.const 7))]
      winch = engine!(:winch)
      cranelift = engine!(:cranelift)
      assert {:ok, by_winch} = Engine.precompile_module(winch, wat)
      assert {:ok, by_cranelift} = Engine.precompile_module(cranelift, wat)

      assert {:ok, module} = Wasmex.Module.unsafe_deserialize(by_winch, winch)
      store = store!(nil, winch)
      pid = start_wasmex!(%{module: module, store: store})
      assert Wasmex.call_function(pid, "f", []) == {:ok, [7]}

      assert {:error, reason} = Wasmex.Module.unsafe_deserialize(by_winch, cranelift)
      assert reason =~ "Winch calling convention"
      assert {:error, _} = Wasmex.Module.unsafe_deserialize(by_cranelift, winch)
    end
  end

  describe "the compiled-code cache" do
    test "the same bytes compiled by each compiler are two files, each loaded by its compiler" do
      dir = tmp_dir!("wasmex_winch_cache")
      tag = System.unique_integer([:positive])
      wat = ~s[(module $winch#{tag} (func (export "tag") (result i32) i32.const #{tag}))]

      # A fresh engine per compile: the in-memory cache (per engine) cannot answer.
      run = fn compiler ->
        config = EngineConfig.cache_dir(%EngineConfig{}, dir)
        store = store!(nil, engine!(compiler, config))
        pid = start_wasmex!(%{bytes: wat, store: store})
        Wasmex.call_function(pid, "tag", [])
      end

      assert run.(:cranelift) == {:ok, [tag]}
      assert [cranelift_file] = Path.wildcard(Path.join(dir, "*.cwasm"))
      assert run.(:winch) == {:ok, [tag]}
      files = Path.wildcard(Path.join(dir, "*.cwasm"))
      assert length(files) == 2
      [winch_file] = files -- [cranelift_file]

      stats = for file <- files, into: %{}, do: {file, File.stat!(file).inode}
      assert run.(:winch) == {:ok, [tag]}
      assert run.(:cranelift) == {:ok, [tag]}
      assert Path.wildcard(Path.join(dir, "*.cwasm")) |> Enum.sort() == Enum.sort(files)
      assert File.stat!(winch_file).inode == stats[winch_file]
      assert File.stat!(cranelift_file).inode == stats[cranelift_file]
    end
  end
end
