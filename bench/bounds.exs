# Scheduler bounds: how long host-side work holds a normal scheduler, before (the work done by a
# normal-scheduler NIF) and after (the public API, which picks a dirty variant by size).
#   MIX_ENV=prod mix run bench/bounds.exs
#
# Each figure is the worst lateness of a 1 ms ticker with one normal scheduler online, in ms,
# and the operation's own duration. "before" calls the normal-scheduler NIF directly where it
# still does the whole work; for exports and instantiation the normal NIF now declines large
# work, so "before" is the duration of the same work on the dirty variant (what a normal
# scheduler would have been held for).

defmodule Bench.Bounds do
  @moduledoc false
  alias Wasmex.{Instance, Memory, Module, Native, Pipe, Store}

  @mib 1_048_576

  def probe(fun) do
    online = :erlang.system_flag(:schedulers_online, 1)
    test = self()
    ticker = spawn(fn -> tick(test, System.monotonic_time(:microsecond), 0) end)
    Process.sleep(5)
    {us, _} = :timer.tc(fun)
    send(ticker, :stop)
    late = receive do: ({:late, l} -> l)
    :erlang.system_flag(:schedulers_online, online)
    {Float.round(late / 1000, 1), Float.round(us / 1000, 1)}
  end

  defp tick(test, last, worst) do
    receive do
      :stop -> send(test, {:late, worst})
    after
      1 ->
        now = System.monotonic_time(:microsecond)
        tick(test, now, max(worst, now - last - 1000))
    end
  end

  def report(name, before, after_) do
    {bl, bd} = before
    {al, ad} = after_

    IO.puts(
      String.pad_trailing(name, 34) <>
        "before: #{bl} ms late (op #{bd} ms)   after: #{al} ms late (op #{ad} ms)"
    )
  end

  def run do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, ~S[(module (memory (export "memory") 4096))])
    {:ok, instance} = Instance.new(store, module, %{})
    {:ok, memory} = Memory.from_instance(store, instance)
    bytes = :binary.copy(<<7>>, 256 * @mib)
    s = store.resource
    m = memory.resource

    report(
      "Memory.write_binary 256 MiB",
      probe(fn -> Native.memory_write_binary(s, m, 0, bytes) end),
      probe(fn -> Memory.write_binary(store, memory, 0, bytes) end)
    )

    report(
      "Memory.read_binary 256 MiB",
      probe(fn -> Native.memory_read_binary(s, m, 0, 256 * @mib) end),
      probe(fn -> Memory.read_binary(store, memory, 0, 256 * @mib) end)
    )

    {:ok, pipe} = Pipe.new()

    report(
      "Pipe.write 256 MiB",
      probe(fn -> Native.pipe_write(pipe.resource, bytes) end),
      probe(fn ->
        :ok = Pipe.seek(pipe, 0)
        Pipe.write(pipe, bytes)
      end)
    )

    :ok = Pipe.seek(pipe, 0)
    before = probe(fn -> Native.pipe_read_dirty(pipe.resource) end)
    :ok = Pipe.seek(pipe, 0)
    report("Pipe.read 256 MiB (before = dirty op)", before, probe(fn -> Pipe.read(pipe) end))

    exports = Enum.map_join(1..100_000, " ", &~s[(export "f#{&1}" (func 0))])
    {:ok, big} = Module.compile(store, "(module (func) #{exports})")

    report(
      "Module.exports 100k (before = dirty op)",
      probe(fn -> Native.module_exports_dirty(big.resource) end),
      probe(fn -> Module.exports(big) end)
    )

    data = :binary.copy("x", 64 * @mib)
    {:ok, seg} = Module.compile(store, ~s[(module (memory 1025) (data (i32.const 0) "#{data}"))])
    {:ok, s1} = Store.new()
    {:ok, s2} = Store.new()

    report(
      "Instance.new 64 MiB data (before = dirty op)",
      probe(fn ->
        Native.instance_new_dirty(s1.resource, seg.resource, %{}, [], nil)
        |> Wasmex.Driver.run(s1.resource, nil, :dirty)
      end),
      probe(fn -> Instance.new(s2, seg, %{}) end)
    )

    owner = touched_store()

    IO.puts(
      "store drop, 256 MiB touched        after: #{inspect(probe(fn -> drop(owner) end))} (late, op ms)"
    )
  end

  # A process owning a store with 256 MiB touched, waiting for `:go` to exit.
  def touched_store do
    wat = ~S"""
    (module (memory 4096)
      (func (export "touch") (memory.fill (i32.const 0) (i32.const 1) (i32.const 268435456))))
    """

    test = self()

    {pid, ref} =
      spawn_monitor(fn ->
        {:ok, store} = Store.new()
        {:ok, module} = Module.compile(store, wat)
        {:ok, instance} = Instance.new(store, module, %{})
        {:ok, []} = Instance.call(store, instance, "touch", [])
        send(test, :ready)
        receive do: (:go -> :ok)
      end)

    receive do: (:ready -> {pid, ref})
  end

  def drop({pid, ref}) do
    send(pid, :go)
    receive do: ({:DOWN, ^ref, _, _, _} -> Process.sleep(50))
  end
end

Bench.Bounds.run()
