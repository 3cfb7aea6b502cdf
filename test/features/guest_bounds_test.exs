defmodule Wasmex.Features.GuestBoundsTest do
  # Bounds that hold for every guest: the default table cap, the nesting limit of re-entrant
  # calls (and the outer deadline inside them), and compile timeouts.
  use Wasmex.Case, async: false

  alias Wasmex.{Components, Module, Store, StoreLimits}

  @moduletag timeout: 120_000

  @grow_wat ~S"""
  (module (table $t 1 funcref)
    (func (export "grow") (param i32) (result i32)
      (table.grow $t (ref.null func) (local.get 0)))
    (func (export "size") (result i32) (table.size $t)))
  """

  describe "tables" do
    test "table.grow past the default cap of 1,000,000 elements fails fast with -1" do
      {store, _module, instance} = instantiate!(@grow_wat)

      {ms, result} = timed_ms(fn -> call(store, instance, "grow", [2_147_483_647]) end)
      assert result == {:ok, [-1]}
      assert ms < 1_000
      assert {:ok, [-1]} = call(store, instance, "grow", [1_000_000])
      assert {:ok, [1]} = call(store, instance, "grow", [999_999])
      assert {:ok, [1_000_000]} = call(store, instance, "size", [])
    end

    test "an explicit table_elements limit replaces the default" do
      {:ok, store} = Store.new(%StoreLimits{table_elements: 2_000_000})
      {store, _module, instance} = instantiate!(@grow_wat, %{}, store: store)
      assert {:ok, [1]} = call(store, instance, "grow", [1_500_000])
      assert {:ok, [-1]} = call(store, instance, "grow", [600_000])
    end

    test "a module whose table minimum is past the default cap does not instantiate" do
      store = store!()
      module = compile!(store, ~S[(module (table 1000001 funcref))])
      assert {:error, reason} = Wasmex.Instance.new(store, module, %{})
      assert reason =~ "table"
    end
  end

  describe "re-entrant calls" do
    @nest_wat ~S"""
    (module
      (import "env" "cb" (func $cb (param i32) (result i32)))
      (func (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (loop $l (br $l)) (i32.const 0))
          (else (call $cb (i32.sub (local.get 0) (i32.const 1)))))))
    """

    # `env.cb(n)` calls `down(n)` again through the caller; a nested call's error is sent to
    # the test as `{:nested_error, n, reason}` and answered with -1.
    defp nesting_imports do
      test = self()

      cb = fn %{caller: caller, instance: instance}, n ->
        case call(caller, instance, "down", [n]) do
          {:ok, [r]} ->
            r + 1

          {:error, reason} ->
            send(test, {:nested_error, n, reason})
            -1
        end
      end

      %{env: %{cb: {:fn, [:i32], [:i32], cb}}}
    end

    defp nesting_instance! do
      {store, _module, instance} = instantiate!(@nest_wat, nesting_imports())
      {store, instance}
    end

    test "nesting deeper than 100 levels is an error for the innermost call" do
      {store, instance} = nesting_instance!()

      {ms, result} = timed_ms(fn -> call(store, instance, "down", [20_000], 10_000) end)
      assert ms < 5_000
      assert {:ok, [n]} = result
      assert n == 99 - 1
      assert_received {:nested_error, 19_900, "nested calls are limited to 100 levels" <> _}
    end

    test "a guest spinning 50 levels deep is stopped at the outer call's deadline" do
      {store, instance} = nesting_instance!()

      {ms, result} = timed_ms(fn -> call(store, instance, "down", [50], 300) end)
      assert result == {:error, :timeout}
      assert ms < 2_000
      # the store is usable again
      assert {:error, :timeout} = call(store, instance, "down", [0], 50)
    end

    # The same guest in a `Wasmex` server: its import calls back into the server's instance
    # through `context.caller`, as in `nesting_instance!/0`.
    defp nesting_server!, do: start_wasmex!(%{bytes: @nest_wat, imports: nesting_imports()})

    # Issue 8 item 3. Without the limit each level keeps a fiber stack (20,000 levels grew past
    # 13 GiB); with it, 100 levels grow the RSS by about 1.4 MiB here (bound: 128 MiB).
    test "a server's callback nesting 20,000 deep ends at the limit, with bounded memory" do
      pid = nesting_server!()
      settle(100)
      before = rss_kb()

      {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, "down", [20_000], 10_000) end)

      assert result == {:ok, [98]}
      assert ms < 5_000
      assert rss_kb() - before < 128 * 1024
      # The call 101 levels deep (the 100th callback's) was refused, and only that one.
      assert_received {:nested_error, 19_900, "nested calls are limited to 100 levels" <> _}
      refute_received {:nested_error, _, _}
    end

    test "a server's callback nesting to the limit and spinning there stops at the outer deadline" do
      pid = nesting_server!()
      before = rss_kb()

      # 99 callbacks deep, the 100th level spins.
      {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, "down", [99], 300) end)

      assert result == {:error, :timeout}
      assert ms < 2_000
      assert rss_kb() - before < 128 * 1024
      # Every level was allowed; the stopped guest's timeout reached each callback in turn.
      refute_received {:nested_error, _, "nested calls are limited" <> _}
      # The instance serves the next call.
      assert {:error, :timeout} = Wasmex.call_function(pid, "down", [0], 50)
    end
  end

  describe "bulk instructions" do
    # One instruction runs to its end (see "How calls run" in Wasmex); between instructions the
    # deadline holds.
    test "a loop of 16 MiB memory.fills is stopped at the deadline between two fills" do
      wat = ~S"""
      (module (memory 256)
        (func (export "fills")
          (loop $l
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 16777216))
            (br $l)))
        (func (export "one") (result i32) (i32.const 1)))
      """

      pid = start_wasmex!(%{bytes: wat})
      {ms, result} = timed_ms(fn -> Wasmex.call_function(pid, :fills, [], 200) end)
      assert result == {:error, :timeout}
      assert ms < 1_000
      assert {:ok, [1]} = Wasmex.call_function(pid, :one, [])
    end

    # Stores with more than 64 MiB of linear memory run their guests on dirty schedulers, so one
    # fill of 1 GiB (0.4-0.7 s here) holds a dirty scheduler and the callers' timers fire on time.
    # A memory declared that large, and one the call itself grows right before the fill.
    for {kind, memory, grow} <- [
          {"declared", "(memory 16384)", ""},
          {"grown", "(memory 1)", "(drop (memory.grow (i32.const 16383)))"}
        ] do
      test "two fills of 1 GiB in a #{kind} memory answer at their 100 ms deadline" do
        wat = """
        (module #{unquote(memory)}
          (func (export "fill")
            #{unquote(grow)}
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 1073741824)))
          (func (export "pages") (result i32) (memory.size)))
        """

        pids = for _ <- 1..2, do: start_wasmex!(%{bytes: wat})

        answers =
          pids
          |> Enum.map(fn pid ->
            Task.async(fn -> timed_ms(fn -> Wasmex.call_function(pid, :fill, [], 100) end) end)
          end)
          |> Task.await_many(10_000)

        for {ms, result} <- answers do
          assert result == {:error, :timeout}
          assert ms < 300, "answered after #{ms} ms"
        end

        # The guests are stopped right after their instruction; then each server serves again.
        for pid <- pids,
            do: assert({:ok, [16_384]} = Wasmex.call_function(pid, :pages, [], 10_000))
      end
    end
  end

  describe "bulk instructions in a component" do
    test "a Components server's 1 GiB fill answers at its 100 ms deadline; the server goes on" do
      wat = ~S"""
      (component
        (core module $m
          (memory (export "mem") 16384)
          (func (export "fill") (memory.fill (i32.const 0) (i32.const 1) (i32.const 1073741824)))
          (func (export "one") (result i32) (i32.const 1)))
        (core instance $i (instantiate $m))
        (func (export "fill") (canon lift (core func $i "fill")))
        (func (export "one") (result u32) (canon lift (core func $i "one"))))
      """

      {:ok, pid} = Wasmex.Components.start_link(bytes: wat)
      {ms, result} = timed_ms(fn -> Wasmex.Components.call_function(pid, "fill", [], 100) end)
      assert result == {:error, :timeout}
      assert ms < 300, "answered after #{ms} ms"
      # The stopped guest's instance is replaced; the new one serves.
      assert {:ok, 1} = Wasmex.Components.call_function(pid, "one", [], 10_000)
    end
  end

  describe "compiles" do
    # A module that takes well over a millisecond to compile; unique, so no cache answers it.
    # (15,000 functions: about 1 s here.)
    defp slow_wat(n) do
      salt = System.unique_integer([:positive])
      body = String.duplicate("(drop (i32.add (local.get 0) (i32.const #{salt}))) ", 20)
      funcs = Enum.map_join(1..n, " ", fn _ -> "(func (param i32) #{body})" end)
      "(module #{funcs})"
    end

    test "Module.compile/3 answers {:error, :timeout} at its timeout" do
      store = store!()
      wat = slow_wat(15_000)
      {ms, result} = timed_ms(fn -> Module.compile(store, wat, timeout: 1) end)
      assert result == {:error, :timeout}
      assert ms < 1_000
      # without a timeout, the same bytes compile
      assert {:ok, %Module{}} = Module.compile(store, wat)
      refute_received _
    end

    test "Component.new/3 answers {:error, :timeout} at its timeout" do
      {:ok, store} = Components.Store.new()
      wat = "(component (core module #{String.trim_leading(slow_wat(15_000), "(module")})"
      assert {:error, :timeout} = Components.Component.new(store, wat, timeout: 1)
      assert {:ok, _} = Components.Component.new(store, wat, timeout: 60_000)
    end

    test "compile options are checked" do
      store = store!()
      assert_raise ArgumentError, fn -> Module.compile(store, "(module)", bogus: 1) end

      assert_raise ArgumentError, ~r/timeout/, fn ->
        Module.compile(store, "(module)", timeout: -1)
      end
    end

    # Without the permits, two large compiles held both dirty CPU schedulers of a 2-core
    # machine and the small one waited for one of them to finish.
    test "small compiles do not wait behind large ones" do
      store = store!()
      large = for _ <- 1..2, do: Task.async(fn -> Module.compile(store, slow_wat(15_000)) end)
      Process.sleep(200)
      {ms, result} = timed_ms(fn -> Module.compile(store, "(module (func))") end)
      assert {:ok, %Module{}} = result
      assert ms < 700
      for task <- large, do: assert({:ok, %Module{}} = Task.await(task, 60_000))
    end
  end
end
