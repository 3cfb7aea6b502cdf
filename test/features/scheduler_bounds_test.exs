defmodule Wasmex.Features.SchedulerBoundsTest do
  # Host-side work proportional to its input runs on dirty schedulers, chosen by size: a ticker
  # on the one normal scheduler left online stays on time. Before, each of these held the
  # scheduler for 70-600 ms. Bounds are generous (a noisy 2-core machine), and each figure is
  # the best of two tries, so that a pause of the machine's other load does not count.
  use Wasmex.Case, async: false

  import Wasmex.SchedulerProbe

  alias Wasmex.{Instance, Memory, Module, Pipe, Store}

  @moduletag :invariants
  @moduletag timeout: 120_000

  @mib 1_048_576
  @late_ms 40

  defp memory!(pages) do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, "(module (memory (export \"memory\") #{pages}))")
    {:ok, instance} = Instance.new(store, module, %{})
    {:ok, memory} = Memory.from_instance(store, instance)
    {store, memory}
  end

  test "large memory reads and writes do not hold a normal scheduler" do
    {store, memory} = memory!(128 * 16)
    bytes = :binary.copy(<<7>>, 128 * @mib)

    {late, :ok} = best_lateness(2, fn -> Memory.write_binary(store, memory, 0, bytes) end)
    assert late < @late_ms

    {late, read} = best_lateness(2, fn -> Memory.read_binary(store, memory, 0, 128 * @mib) end)
    assert late < @late_ms
    assert read == bytes

    # small copies stay on the normal path and work the same
    assert :ok = Memory.write_binary(store, memory, 3, "abc")
    assert Memory.read_binary(store, memory, 2, 5) == <<7, "abc", 7>>
  end

  test "large pipe reads and writes do not hold a normal scheduler" do
    {:ok, pipe} = Pipe.new()
    bytes = :binary.copy(<<1, 2>>, 64 * @mib)

    rewind = fn -> Pipe.seek(pipe, 0) end
    {late, {:ok, n}} = best_lateness(2, rewind, fn :ok -> Pipe.write(pipe, bytes) end)
    assert late < @late_ms
    assert n == byte_size(bytes)

    {late, read} = best_lateness(2, rewind, fn :ok -> Pipe.read(pipe) end)
    assert late < @late_ms
    assert read == bytes

    {:ok, 2} = Pipe.write(pipe, "hi")
    :ok = Pipe.seek(pipe, byte_size(bytes))
    assert Pipe.read(pipe) == "hi"
  end

  test "the exports and imports of a module with 100k of them are listed off the normal scheduler" do
    {:ok, store} = Store.new()
    n = 100_000
    exports = Enum.map_join(1..n, " ", &~s[(export "f#{&1}" (func 0))])
    imports = Enum.map_join(1..n, " ", &~s[(import "env" "g#{&1}" (func))])
    {:ok, module} = Module.compile(store, "(module #{imports} (func) #{exports})")

    {late, listed} = best_lateness(2, fn -> Module.exports(module) end)
    assert late < @late_ms
    assert map_size(listed) == n
    assert listed["f1"] == {:fn, [], []}

    {late, %{"env" => listed}} = best_lateness(2, fn -> Module.imports(module) end)
    assert late < @late_ms
    assert map_size(listed) == n
  end

  test "instantiating a module with a 64 MiB data segment does not hold a normal scheduler" do
    {:ok, store} = Store.new()
    data = :binary.copy("x", 64 * @mib)

    {:ok, module} =
      Module.compile(
        store,
        ~s[(module (memory (export "m") 1025) (data (i32.const 0) "#{data}"))]
      )

    {late, {:ok, instance}} = best_lateness(2, fn -> Instance.new(store, module, %{}) end)
    assert late < @late_ms
    {:ok, memory} = Memory.from_instance(store, instance)
    assert Memory.read_binary(store, memory, 64 * @mib - 2, 3) == <<"xx", 0>>
  end

  test "a guest's memory.fill of 256 MiB does not hold a normal scheduler" do
    # One bulk instruction cannot be interrupted, and a first fill faults every page in; a store
    # with this much memory runs its guest on dirty schedulers (held 60-180 ms here before).
    wat = ~S"""
    (module (memory 4096)
      (func (export "fill") (memory.fill (i32.const 0) (i32.const 9) (i32.const 268435456)))
      (func (export "peek") (result i32) (i32.load8_u (i32.const 268435455))))
    """

    fresh = fn ->
      {:ok, store} = Store.new()
      {:ok, module} = Module.compile(store, wat)
      {:ok, instance} = Instance.new(store, module, %{})
      {store, instance}
    end

    {late, {store, instance, result}} =
      best_lateness(2, fresh, fn {store, instance} ->
        {store, instance, Instance.call(store, instance, "fill", [])}
      end)

    assert late < @late_ms
    assert result == {:ok, []}
    assert {:ok, [9]} = Instance.call(store, instance, "peek", [])
  end

  test "dropping a store with 256 MiB of touched memory does not hold a normal scheduler" do
    wat = ~S"""
    (module (memory (export "m") 4096)
      (func (export "touch") (memory.fill (i32.const 0) (i32.const 1) (i32.const 268435456))))
    """

    test = self()

    touched = fn ->
      {ready, go} = {make_ref(), make_ref()}

      owner =
        spawn(fn ->
          {:ok, store} = Store.new()
          {:ok, module} = Module.compile(store, wat)
          {:ok, instance} = Instance.new(store, module, %{})
          {:ok, []} = Instance.call(store, instance, "touch", [])
          send(test, ready)
          receive do: (^go -> :ok)
        end)

      assert_receive ^ready, 30_000
      {owner, go, Process.monitor(owner)}
    end

    {late, _} =
      best_lateness(3, touched, fn {owner, go, monitor} ->
        send(owner, go)
        assert_receive {:DOWN, ^monitor, :process, ^owner, :normal}, 10_000
        # the store is freed by the owner's exit; give its destructor time to run
        Process.sleep(50)
      end)

    # inline, the drop held the scheduler 20-31 ms here (best of 3: 20); on its thread, 1-2 ms
    assert late < 10
  end
end
