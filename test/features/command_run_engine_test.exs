defmodule Wasmex.Features.CommandRunEngineTest do
  # `Wasmex.Command.run/2` of a prepared core module or component of the default engine runs in
  # a store of the run engine (the default engine's pooling twin, `native/wasmex/src/engine/run.rs`)
  # while one of its slots is free, and in a default store otherwise (`store_new_wasi_run`,
  # `component_store_new_wasi_run`). Neither the outcome of a run nor what a run may do depends
  # on which it got.
  use ExUnit.Case, async: true

  alias Wasmex.{Command, Engine, EngineConfig, Module, Store, StoreLimits}

  # Bumps a memory cell and a global, and exits with their sum: 2 in a fresh instance.
  @counter ~S"""
  (module
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "_start")
      (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (call $exit (i32.add (global.get $g) (i32.load (i32.const 64))))))
  """

  # Grows a table by 1.5 million elements and traps if that was refused.
  @table_grower ~S"""
  (module
    (table 0 funcref)
    (func (export "_start")
      (if (i32.eq (table.grow (ref.null func) (i32.const 1500000)) (i32.const -1))
        (then unreachable))))
  """

  @json_component File.read!("test/fixtures/components/json_command.wasm")

  # A `wasi:cli/run` command whose two core modules have a memory each: more than a component
  # run slot holds.
  @two_memories ~S"""
  (component
    (core module $main
      (memory 1)
      (func (export "run") (result i32) (i32.const 0)))
    (core module $other (memory 1))
    (core instance $m (instantiate $main))
    (core instance $o (instantiate $other))
    (func $run (result (result)) (canon lift (core func $m "run")))
    (instance $cli (export "run" (func $run)))
    (export "wasi:cli/run@0.2.0" (instance $cli)))
  """

  # The store and code a component's run gets: `{store, code}` from the run NIF.
  defp component_run_store(component) do
    options = Wasmex.Wasi.WasiP2Options.normalize(%Wasmex.Wasi.WasiP2Options{})
    {:ok, pair} = Wasmex.Native.component_store_new_wasi_run(options, nil, component.resource)
    pair
  end

  defp prepared!(wat) do
    {:ok, module} = Command.prepare(wat)
    module
  end

  test "every run starts from the module's initial memory and globals" do
    module = prepared!(@counter)

    for _ <- 1..300 do
      assert {:ok, %Command.Result{exit_code: 2}} = Command.run(module)
    end
  end

  test "runs go on when more stores are alive than the run engine has slots" do
    module = prepared!(@counter)
    parent = self()

    # A heap this large is not collected during the runs, so every run's store stays alive
    # until the process ends: the run engine's 128 slots are all taken after the first runs.
    {pid, ref} =
      :erlang.spawn_opt(
        fn ->
          results = for _ <- 1..400, do: Command.run(module)
          send(parent, {:results, results})
        end,
        [:monitor, min_heap_size: 4_000_000]
      )

    assert_receive {:results, results}, 30_000
    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 5_000
    assert length(results) == 400
    assert Enum.all?(results, &match?({:ok, %Command.Result{exit_code: 2}}, &1))
  end

  test "big stores dropped on the background thread give their slot back only once dropped" do
    # 20 MiB of memory per store: more than the NIF drops on a scheduler, so each goes to the
    # `wasmex-drop` thread, while three processes keep taking slots.
    big = String.replace(@counter, ~s[(export "memory") 1)], ~s[(export "memory") 320)])
    assert big != @counter
    module = prepared!(big)

    tasks =
      for _ <- 1..3 do
        Task.async(fn ->
          for _ <- 1..200, do: Command.run(module)
        end)
      end

    for results <- Task.await_many(tasks, 60_000) do
      assert Enum.all?(results, &match?({:ok, %Command.Result{exit_code: 2}}, &1))
    end
  end

  test "callers on every scheduler running back to back never find the run engine full" do
    # A slot is not reusable the moment its store ends (its pages wait in a decommit batch, and
    # a batch being flushed hides its slots): with a pool of exactly 128 slots, about one run
    # in 60,000 of two such callers failed with "maximum concurrent limit of 128 ... reached".
    # Each caller keeps its results, so its heap grows and its collections free many stores
    # at once.
    module = prepared!(@counter)

    tasks =
      for _ <- 1..4 do
        Task.async(fn ->
          Enum.reduce_while(1..30_000, [], fn _, kept ->
            case Command.run(module) do
              {:ok, %Command.Result{exit_code: 2}} = ok -> {:cont, [ok | kept]}
              other -> {:halt, other}
            end
          end)
        end)
      end

    for result <- Task.await_many(tasks, 120_000) do
      assert is_list(result), "a run failed: #{inspect(result)}"
      assert length(result) == 30_000
    end
  end

  test "a table grows as far as the store limits let it, as on the default engine" do
    module = prepared!(@table_grower)
    assert {:error, {:trap, _}} = Command.run(module)

    limits = %StoreLimits{table_elements: 2_000_000}
    assert {:ok, %Command.Result{exit_code: 0}} = Command.run(module, store_limits: limits)
  end

  test "a module of another engine is refused as before" do
    {:ok, engine} = Engine.new(%EngineConfig{})
    {:ok, store} = Store.new(nil, engine)
    {:ok, module} = Module.compile(store, @counter)

    assert {:error, {:instantiate, "cross-`Engine` instantiation is not currently supported"}} =
             Command.run(module)

    assert {:ok, %Command.Result{exit_code: 2}} = Command.run(module, engine: engine)
  end

  test "fuel and preopens keep their own stores" do
    {:ok, module} = Command.prepare(@counter, fuel: 1_000)
    assert {:ok, %Command.Result{exit_code: 2}} = Command.run(module, fuel: 1_000)

    dir = Path.join(System.tmp_dir!(), "wasmex_run_engine_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)

    assert {:ok, %Command.Result{exit_code: 2}} = Command.run(prepared!(@counter), preopen: [dir])
  end

  describe "component commands" do
    test "a prepared component runs on its twin, every run in a fresh instance" do
      {:ok, component} = Command.prepare(@json_component)
      {_store, code} = component_run_store(component)
      assert code != component.resource, "the run did not get the run engine's twin"
      {_store, again} = component_run_store(component)
      assert again == code, "the twin is made once"

      # More runs than the run engine has component slots: slots are reused, and each run
      # starts from the component's initial memory (both statics start over).
      for _ <- 1..200 do
        assert {:ok, %Command.Result{exit_code: 0, stdout: ~s({"count":1,"seed":42})}} =
                 Command.run(component, args: ["count"])
      end
    end

    test "runs go on on the default engine while every component slot is taken" do
      {:ok, component} = Command.prepare(@json_component)
      # Stores kept alive here hold their slots (64 of them) until the test ends.
      held = for _ <- 1..70, do: component_run_store(component)
      codes = Enum.map(held, &elem(&1, 1))
      assert Enum.count(codes, &(&1 == component.resource)) >= 6

      assert {:ok, %Command.Result{exit_code: 0, stdout: ~s({"count":1,"seed":42})}} =
               Command.run(component, args: ["count"])
    end

    test "a component with more memories than a slot holds runs on the default engine" do
      {:ok, component} = Command.prepare(@two_memories)
      {_store, code} = component_run_store(component)
      assert code == component.resource
      assert {:ok, %Command.Result{exit_code: 0}} = Command.run(component)
    end

    test "a component's run keeps the limits of the default engine's stores" do
      {:ok, component} = Command.prepare(@json_component)
      limits = %StoreLimits{memory_size: 64 * 1024}

      assert Command.run(component, store_limits: limits) ==
               {:error, {:instantiate, "memory minimum size of 17 pages exceeds memory limits"}}

      limits = %StoreLimits{memory_size: 2 * 1024 * 1024}
      assert {:ok, %Command.Result{}} = Command.run(component, store_limits: limits)
    end
  end
end
