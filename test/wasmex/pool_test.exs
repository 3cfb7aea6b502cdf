defmodule Wasmex.PoolTest do
  use ExUnit.Case, async: true

  # Bumps a zeroed cell and one the data segment sets to 42: 1 * 1000 + 43 in a fresh instance;
  # `grow` adds 10 pages and answers the size before (2 in a fresh instance).
  @memory_wat ~S"""
  (module
    (memory 2)
    (data (i32.const 16) "\2a")
    (func (export "bump") (result i32)
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
      (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
      (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 1000)) (i32.load (i32.const 16))))
    (func (export "grow") (result i32) (memory.grow (i32.const 10))))
  """

  # Writes "hi" to stdout with WASI and answers the bytes written.
  @hello_wat ~S"""
  (module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 8) "\10\00\00\00\02\00\00\00hi")
    (func (export "hello") (result i32)
      (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))
      (i32.load (i32.const 0))))
  """

  alias Wasmex.Pool

  doctest Wasmex.Pool

  import Wasmex.PoolTestHelpers

  describe "calls" do
    test "return what Wasmex.call_function/4 returns" do
      pool = start_pool!(size: 2)
      {:ok, server} = Wasmex.start_link(%{bytes: wat(), imports: imports(self())})
      assert Pool.call_function(pool, "sum", [40, 2]) == {:ok, [42]}
      assert Pool.call_function(pool, :sum, [1, 2]) == {:ok, [3]}

      for {fun, params} <- [{"nope", []}, {"boom", []}, {"sum", [1]}] do
        assert {:error, _} = expected = Wasmex.call_function(server, fun, params)
        assert Pool.call_function(pool, fun, params) == expected
      end
    end

    test "warm members keep their state between calls" do
      pool = start_pool!([])

      assert for(_ <- 1..3, do: Pool.call_function(pool, "inc", [])) == [
               ok: [1],
               ok: [2],
               ok: [3]
             ]

      assert {:error, _} = Pool.call_function(pool, "nope", [])
      assert Pool.call_function(pool, "inc", []) == {:ok, [4]}
      assert Pool.stats(pool).replaced == 0
    end

    test "fresh: true runs every call in a new instance" do
      pool = start_pool!(fresh: true, size: 2)

      assert for(_ <- 1..3, do: Pool.call_function(pool, "inc", [])) == [
               ok: [1],
               ok: [1],
               ok: [1]
             ]

      # A member counts as busy until it has built the instance for its next call (right after
      # answering), so the last call's member may still be building.
      Wasmex.TestHelpers.wait_until(fn -> Pool.stats(pool).idle == 2 end)
      assert %{size: 2, idle: 2, busy: 0, calls: 3} = Pool.stats(pool)
    end

    test "fresh: true members start from the module's memory, data and size every call" do
      # 300 calls: more than the run engine's pool has slots, so slots are reused.
      pool = start_pool!(bytes: @memory_wat, imports: %{}, fresh: true, size: 2)

      for _ <- 1..150 do
        assert Pool.call_function(pool, "bump", []) == {:ok, [1043]}
        assert Pool.call_function(pool, "grow", []) == {:ok, [2]}
      end
    end

    test "fresh: true members of a WASI pool write to their own output each call" do
      pool = start_pool!(bytes: @hello_wat, imports: %{}, fresh: true, wasi: true)

      for _ <- 1..20, do: assert(Pool.call_function(pool, "hello", []) == {:ok, [2]})
    end

    test "Elixir imports run in the member process" do
      pool = start_pool!([])
      assert Pool.call_function(pool, "ping", [4]) == {:ok, [40]}
      assert_received {:ping, runner, 4}
      assert Pool.call_function(pool, "ping", [5]) == {:ok, [50]}
      assert_received {:ping, ^runner, 5}
      assert runner != self()
      assert runner in members(pool)
    end

    test "stats count calls and members" do
      pool = start_pool!(size: 3)
      {:ok, _} = Pool.call_function(pool, "sum", [1, 1])

      assert Pool.stats(pool) ==
               %{size: 3, idle: 3, busy: 0, waiting: 0, calls: 1, replaced: 0}
    end

    test "a pool that does not exist answers :noproc" do
      assert Pool.call_function(:no_such_pool_here, "sum", [1, 2]) == {:error, :noproc}
    end
  end

  describe "start" do
    test "compile and instantiation failures are errors" do
      assert {:error, "Error while parsing bytes: " <> _} =
               Pool.start_link(name: :bad_bytes_pool, bytes: "(module")

      assert {:error, "unknown import: `env::ping` has not been defined"} =
               Pool.start_link(name: :bad_import_pool, bytes: wat())
    end

    test "options are checked" do
      for {opts, message} <- [
            {[bytes: wat()], "option :name must be an atom, got: nil"},
            {[name: "x", bytes: wat()], ~s(option :name must be an atom, got: "x")},
            {[name: :p, size: 0, bytes: wat()],
             "option :size must be a positive integer, got: 0"},
            {[name: :p, fresh: 1, bytes: wat()], "option :fresh must be a boolean, got: 1"},
            {[name: :p, watch: true, bytes: wat()],
             "option :watch must be used with a :path (none given), got: true"},
            {[name: :p, max_waiting: -1, bytes: wat()],
             "option :max_waiting must be a non-negative integer, got: -1"},
            {[name: :p, wasi: 3, bytes: wat()],
             "option :wasi must be a boolean or %Wasmex.Wasi.WasiOptions{}, got: 3"},
            {[name: :p, instance: :x, bytes: wat()],
             "option :instance is not supported by pools (each member has its own instance), got: :x"}
          ] do
        assert_raise ArgumentError, message, fn -> Pool.start_link(opts) end
      end
    end

    test "a second pool of the same name is refused" do
      pool = start_pool!([])
      pid = Process.whereis(pool)
      assert Pool.start_link(name: pool, bytes: "(module)") == {:error, {:already_started, pid}}
      assert Pool.call_function(pool, "sum", [1, 2]) == {:ok, [3]}
    end

    test "takes a map, a compiled module and a template store" do
      {:ok, store} = Wasmex.Store.new()
      {:ok, module} = Wasmex.Module.compile(store, wat())
      name = :"pool_#{System.unique_integer([:positive])}"

      opts = %{name: name, module: module, store: store, imports: imports(self()), size: 2}
      start_supervised!({Pool, opts})
      assert Pool.call_function(name, "sum", [2, 3]) == {:ok, [5]}
    end
  end

  describe "failures" do
    test "a trap replaces the member: its state is reset, nothing else notices" do
      pool = start_pool!([])
      {:ok, [1]} = Pool.call_function(pool, "inc", [])
      assert {:error, _} = Pool.call_function(pool, "boom", [])
      eventually(fn -> Pool.stats(pool).idle == 1 end)
      assert Pool.call_function(pool, "inc", []) == {:ok, [1]}
      assert %{replaced: 1, size: 1} = Pool.stats(pool)
    end

    test "a call past its timeout is stopped and the member replaced" do
      pool = start_pool!([])
      {elapsed, result} = :timer.tc(fn -> Pool.call_function(pool, "spin", [], 100) end)
      assert result == {:error, :timeout}
      assert elapsed < 1_000_000
      assert Pool.call_function(pool, "sum", [1, 2]) == {:ok, [3]}
      assert Pool.stats(pool).replaced == 1
    end

    test "timeout while waiting: the caller gets :timeout and its call never runs" do
      pool = start_pool!([])
      {holder, runner} = hold_member!(pool)

      {elapsed, result} = :timer.tc(fn -> Pool.call_function(pool, "ping", [7], 100) end)
      assert result == {:error, :timeout}
      assert elapsed < 1_000_000

      send(runner, :go)
      assert Task.await(holder) == {:ok, [0]}
      assert Pool.call_function(pool, "sum", [1, 2]) == {:ok, [3]}
      refute_receive {:ping, _, 7}, 200
      assert %{waiting: 0, busy: 0, idle: 1} = Pool.stats(pool)
    end

    test "overload: a caller beyond max_waiting is refused at once" do
      pool = start_pool!(max_waiting: 1)
      {holder, runner} = hold_member!(pool)
      waiter = Task.async(fn -> Pool.call_function(pool, "sum", [1, 2], 5000) end)
      eventually(fn -> Pool.stats(pool).waiting == 1 end)

      {elapsed, result} = :timer.tc(fn -> Pool.call_function(pool, "sum", [1, 2], 5000) end)
      assert result == {:error, :overloaded}
      assert elapsed < 500_000

      send(runner, :go)
      assert Task.await(holder) == {:ok, [0]}
      assert Task.await(waiter) == {:ok, [3]}
    end

    test "max_waiting: 0 refuses any caller when all members are busy" do
      pool = start_pool!(max_waiting: 0)
      {holder, runner} = hold_member!(pool)
      assert Pool.call_function(pool, "sum", [1, 2]) == {:error, :overloaded}
      send(runner, :go)
      assert Task.await(holder) == {:ok, [0]}
    end

    test "a caller that gives up or dies leaves the member serving" do
      pool = start_pool!([])
      {:ok, [1]} = Pool.call_function(pool, "inc", [])
      {holder, runner} = hold_member!(pool)
      Task.shutdown(holder, :brutal_kill)
      send(runner, :go)
      assert Pool.call_function(pool, "inc", [], 5000) == {:ok, [2]}
      assert %{replaced: 0, busy: 0, idle: 1} = Pool.stats(pool)
    end

    test "a member that dies: its caller gets an error, not an exit; the member restarts" do
      pool = start_pool!(size: 2)
      {holder, runner} = hold_member!(pool)
      assert Pool.call_function(pool, "sum", [1, 2]) == {:ok, [3]}

      Process.exit(runner, :kill)
      assert Task.await(holder) == {:error, {:member_down, :killed}}
      eventually(fn -> length(members(pool) -- [runner]) == 2 end)

      assert for(_ <- 1..4, do: Pool.call_function(pool, "sum", [1, 2])) ==
               List.duplicate({:ok, [3]}, 4)
    end

    test "an import that raises fails only its call" do
      name = :"pool_#{System.unique_integer([:positive])}"
      raising = %{env: %{ping: {:fn, [:i32], [:i32], fn _, _ -> raise "import failed" end}}}
      start_supervised!({Pool, name: name, bytes: wat(), imports: raising, size: 1})

      ExUnit.CaptureLog.capture_log(fn ->
        assert {:error, _} = Pool.call_function(name, "ping", [1])
      end)

      assert Pool.call_function(name, "sum", [1, 2]) == {:ok, [3]}
    end

    test "the process behind the name may die: calls go on, it restarts" do
      pool = start_pool!([])
      {holder, runner} = hold_member!(pool)
      kill_keeper(pool)
      send(runner, :go)
      assert Task.await(holder) == {:ok, [0]}
      assert Pool.call_function(pool, "sum", [1, 2]) == {:ok, [3]}
      assert %{size: 1, calls: 2} = Pool.stats(pool)
    end
  end
end
