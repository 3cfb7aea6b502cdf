# What a pool call costs under load, part by part: MIX_ENV=prod mix run bench/pool_parts.exs
# BENCH_SMOKE=1 runs it with tiny counts (checks the script, measures nothing).
#
# 64 callers call `sum` for a short round on each row in turn, rounds alternating in order, all
# in one VM; each row's figure is the median over the rounds of its ratio to 64 callers on 64
# own `Wasmex` servers in the same round. The rows below the pool are not the library: they are
# two plain GenServers that call `Wasmex.Instance.call/5` (the floor of routing calls through
# member processes), then the same with one part of what `Wasmex.Pool` does added.

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.PoolParts.Member do
  @moduledoc false
  # A pool member with nothing but the call; `parts` adds what `Wasmex.Pool.Member` also does.
  use GenServer

  @sum ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]

  def init(index) do
    {:ok, store} = Wasmex.Store.new()
    {:ok, module} = Wasmex.Module.compile(store, @sum)
    {:ok, instance} = Wasmex.Instance.new(store, module, %{})
    {:ok, %{store: store, instance: instance, index: index}}
  end

  def handle_call({:call, fun, params, deadline, part}, _from, state) do
    if part == :deadline, do: Wasmex.Deadline.remaining(deadline)
    result = Wasmex.Instance.call(state.store, state.instance, fun, params, 5000)

    if part == :counters do
      counters = :persistent_term.get({__MODULE__, :counters})
      :atomics.add(counters, 2 + state.index, 1)
      :atomics.sub(counters, state.index, 1)
    end

    {:reply, result, state}
  end
end

defmodule Bench.PoolParts do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Bench.PoolParts.Member

  @smoke System.get_env("BENCH_SMOKE") in ["1", "true"]
  @rounds if @smoke, do: 2, else: 10
  @round_ms if @smoke, do: 50, else: 400
  @sum ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]

  def run do
    IO.puts("# wasmex pool: the parts of a call under load\n")
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))
    if @smoke, do: IO.puts("**BENCH_SMOKE: tiny counts, the figures mean nothing**\n")

    {:ok, _} = Wasmex.Pool.start_link(name: :bench_parts, bytes: @sum, size: 2, max_waiting: 1000)
    members = List.to_tuple(for i <- 1..2, do: elem(GenServer.start_link(Member, i), 1))
    :persistent_term.put({Member, :counters}, :atomics.new(4, signed: true))
    servers = for _ <- 1..64, do: elem(Wasmex.start_link(%{bytes: @sum}), 1)

    rows = [
      {"64 own `Wasmex` servers (the reference)", servers, fn s -> own(s) end},
      {"`Wasmex.Pool`, size 2", 64,
       fn -> Wasmex.Pool.call_function(:bench_parts, "sum", [1, 2]) end},
      {"two plain members, by scheduler (the floor)", 64, fn -> plain(members, :none) end},
      {"the floor + a deadline (set by the caller, read by the member)", 64,
       fn -> plain(members, :deadline) end},
      {"the floor + the in-flight counters (4 atomics operations, one `:persistent_term` read)",
       64, fn -> plain(members, :counters) end}
    ]

    ratios =
      for i <- 1..@rounds do
        order = if rem(i, 2) == 1, do: rows, else: Enum.reverse(rows)

        rates =
          Map.new(order, fn {name, callers, fun} ->
            {name, H.load(callers, fun, @round_ms).rate}
          end)

        {reference, _, _} = hd(rows)
        Map.new(rates, fn {name, rate} -> {name, {rate, rate / rates[reference]}} end)
      end

    H.heading("64 callers, `sum`, #{@rounds} rounds of #{@round_ms} ms per row")

    H.table(
      ["row", "calls/s (median)", "x the own servers (median of the rounds)"],
      for {name, _, _} <- rows do
        {rates, xs} = ratios |> Enum.map(& &1[name]) |> Enum.unzip()
        [name, H.fmt_rate(H.median(rates)), H.num(H.median(xs)) <> "x"]
      end
    )
  end

  defp own(server), do: Wasmex.call_function(server, "sum", [1, 2])

  defp plain(members, part) do
    index = rem(:erlang.system_info(:scheduler_id), 2) + 1

    deadline =
      case part do
        :deadline ->
          Wasmex.Deadline.deadline(5000)

        :counters ->
          counters = :persistent_term.get({Member, :counters})
          _ = :atomics.get(counters, index)
          :atomics.add_get(counters, index, 1)
          nil

        :none ->
          nil
      end

    GenServer.call(elem(members, index - 1), {:call, "sum", [1, 2], deadline, part})
  end
end

Bench.PoolParts.run()
