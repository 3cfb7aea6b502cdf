# Pool benchmarks: MIX_ENV=prod mix run bench/pool.exs
# BENCH_SMOKE=1 runs every section with tiny counts (checks the script, measures nothing).
#
# All timed code lives in modules (compiled), never at the top level of this script: top-level
# closures are interpreted by erl_eval and would be ~10x slower. See bench/README.md.

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Pool do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.Pool

  @smoke System.get_env("BENCH_SMOKE") in ["1", "true"]
  @calls if @smoke, do: 2_000, else: 100_000
  @warmup if @smoke, do: 200, else: 5_000
  @run_ms if @smoke, do: 200, else: 2_000
  @reload_ms if @smoke, do: 500, else: 10_000

  @sum ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))]
  @sum2 ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 1 local.get 0 i32.add))]

  # Compiled on the peer: starts a distributed pool that outlives the `:erpc` process.
  @peer_helper ~S"""
  defmodule BenchPoolPeer do
    def start_detached(name, bytes) do
      caller = self()

      spawn(fn ->
        opts = [name: name, bytes: bytes, size: 2, distributed: true, max_waiting: 1000]
        send(caller, {:started, Wasmex.Pool.start_link(opts)})
        Process.sleep(:infinity)
      end)

      receive do
        {:started, result} -> result
      after
        10_000 -> {:error, :timeout}
      end
    end
  end
  """

  def run do
    t0 = System.monotonic_time(:millisecond)
    IO.puts("# wasmex pool benchmarks\n")
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))

    if @smoke, do: IO.puts("**BENCH_SMOKE: tiny counts, the figures mean nothing**\n")

    unless Mix.env() == :prod do
      IO.puts("**warning:** MIX_ENV=#{Mix.env()}; run with MIX_ENV=prod for meaningful numbers\n")
    end

    H.section("(a) throughput", 60_000, &throughput/0) |> print("(a) 64 callers, `sum`")
    H.section("(b) latency", 60_000, &latency/0) |> print("(b) 1 caller, `sum`")
    H.section("(c) fresh", 60_000, &fresh/0) |> print("(c) `fresh: true`, `sum`")
    H.section("(d) remote", 90_000, &remote/0) |> print("(d) a pool on another node")
    H.section("(e) reload", 60_000, &reload/0) |> print("(e) reload every 100 ms, 16 callers")

    IO.puts(
      "_total benchmark time: #{H.num((System.monotonic_time(:millisecond) - t0) / 1000)} s_"
    )
  end

  ## Sections: each returns `{headers, rows}`.

  # (a) A pool of 2 shared by 64 callers vs 64 callers with a `Wasmex` server each, in four
  # rounds of both (the machine's speed drifts between runs of a few seconds).
  defp throughput do
    {:ok, _} = Pool.start_link(name: :bench_pool_a, bytes: @sum, size: 2, max_waiting: 1000)
    servers = for _ <- 1..64, do: server()
    round_ms = max(div(@run_ms, 2), 100)

    pool_load = fn ->
      load(64, fn -> Pool.call_function(:bench_pool_a, "sum", [1, 2]) end, round_ms)
    end

    own_load = fn ->
      load(servers, fn s -> Wasmex.call_function(s, "sum", [1, 2]) end, round_ms)
    end

    # In the order pool, servers, servers, pool, ...: what one row leaves behind (the exited
    # callers' heaps, a scheduler's state) falls on both rows alike.
    rounds =
      for i <- 1..4 do
        if rem(i, 2) == 1 do
          pool = pool_load.()
          {pool, own_load.()}
        else
          own = own_load.()
          {pool_load.(), own}
        end
      end

    {pools, owns} = Enum.unzip(rounds)
    pool = sum_loads(pools)
    own = sum_loads(owns)
    per_round = Enum.map_join(rounds, " ", fn {p, o} -> H.num(p.rate / o.rate) end)

    {["pool of 2", "64 own `Wasmex` servers", "pool / servers (target >= 1)", "per round"],
     [[rates(pool), rates(own), H.num(pool.rate / own.rate) <> "x", per_round]]}
  end

  defp sum_loads(loads) do
    %{
      ok: Enum.sum(Enum.map(loads, & &1.ok)),
      errors: Enum.sum(Enum.map(loads, & &1.errors)),
      rate: Enum.sum(Enum.map(loads, & &1.rate)) / length(loads)
    }
  end

  # (b) One caller, server and pool calls alternating (each sample sees the same machine state).
  defp latency do
    {:ok, _} = Pool.start_link(name: :bench_pool_b, bytes: @sum, size: 2)
    s = server()

    {single, pool} =
      H.sample_pair(
        @calls,
        fn -> Wasmex.call_function(s, "sum", [1, 2]) end,
        fn -> Pool.call_function(:bench_pool_b, "sum", [1, 2]) end
      )

    {single, pool} = {H.stats(single), H.stats(pool)}

    {["path", "median", "p99", "vs server"],
     [
       [
         "`Wasmex.call_function/4`, one server",
         H.fmt_ns(single.median),
         H.fmt_ns(single.p99),
         "1x"
       ],
       [
         "`Wasmex.Pool.call_function/4`, size 2",
         H.fmt_ns(pool.median),
         H.fmt_ns(pool.p99),
         H.num(pool.median / single.median) <> "x (target <= 1.2)"
       ]
     ]}
  end

  # (c) Every call in a new instance, next to a warm pool. Back to back, a call waits for the
  # instance its member builds after each call; calls 1 ms apart find it ready.
  defp fresh do
    {:ok, _} = Pool.start_link(name: :bench_pool_c, bytes: @sum, size: 2, fresh: true)
    {:ok, _} = Pool.start_link(name: :bench_pool_w, bytes: @sum, size: 2)
    n = div(@calls, 5)
    call = fn -> Pool.call_function(:bench_pool_c, "sum", [1, 2]) end
    fresh = H.stats(H.sample(n, call, @warmup))
    apart = H.stats(spaced(div(@calls, 50), call))

    warm_call = fn -> Pool.call_function(:bench_pool_w, "sum", [1, 2]) end
    warm = H.stats(H.sample(n, warm_call, @warmup))
    warm_apart = H.stats(spaced(div(@calls, 50), warm_call))

    {["pool of 2", "median", "p99"],
     [
       [
         "`fresh: true`, back to back (target median <= 10 µs)",
         H.fmt_ns(fresh.median),
         H.fmt_ns(fresh.p99)
       ],
       ["`fresh: true`, calls 1 ms apart", H.fmt_ns(apart.median), H.fmt_ns(apart.p99)],
       ["warm, back to back (reference)", H.fmt_ns(warm.median), H.fmt_ns(warm.p99)],
       [
         "warm, calls 1 ms apart (reference)",
         H.fmt_ns(warm_apart.median),
         H.fmt_ns(warm_apart.p99)
       ]
     ]}
  end

  defp spaced(n, fun) do
    for _ <- 1..n do
      Process.sleep(1)
      {ns, _} = H.time(fun)
      ns
    end
  end

  # (d) A pool of 2 on a peer node on this machine, called from here (no local pool).
  defp remote do
    node = start_peer()
    {:ok, _} = :erpc.call(node, BenchPoolPeer, :start_detached, [:bench_pool_d, @sum])
    wait_remote(:bench_pool_d, 200)
    call = fn -> Pool.call_function(:bench_pool_d, "sum", [1, 2]) end
    one = H.stats(H.sample(div(@calls, 10), call, @warmup))
    many = load(16, call)
    local = load(16, fn -> {:ok, :erpc.call(node, :erlang, :abs, [-1])} end)

    {[
       "remote pool of 2",
       "median (1 caller)",
       "p99",
       "calls/s (16 callers)",
       "bare `:erpc.call` calls/s (16 callers, reference)"
     ], [["", H.fmt_ns(one.median), H.fmt_ns(one.p99), rates(many), rates(local)]]}
  end

  # (e) 16 callers while the code is reloaded every 100 ms (two versions, alternating).
  defp reload do
    {:ok, _} = Pool.start_link(name: :bench_pool_e, bytes: @sum, size: 2, max_waiting: 100)
    parent = self()

    reloader =
      spawn_link(fn ->
        n = reload_loop(:bench_pool_e, System.monotonic_time(:millisecond) + @reload_ms, 0, 0)
        send(parent, {:reloads, n})
      end)

    r = load(16, fn -> Pool.call_function(:bench_pool_e, "sum", [1, 2]) end, @reload_ms)
    {ok_reloads, failed_reloads} = receive(do: ({:reloads, n} -> n), after: (30_000 -> {0, 0}))
    H.kill(reloader)

    {["calls ok", "calls failed (target 0)", "reloads", "failed reloads"],
     [[H.group(r.ok), H.group(r.errors), H.group(ok_reloads), H.group(failed_reloads)]]}
  end

  defp reload_loop(pool, deadline, ok, failed) do
    if System.monotonic_time(:millisecond) >= deadline do
      {ok, failed}
    else
      bytes = if rem(ok, 2) == 0, do: @sum2, else: @sum

      {ok, failed} =
        if Pool.reload(pool, bytes: bytes) == :ok, do: {ok + 1, failed}, else: {ok, failed + 1}

      Process.sleep(100)
      reload_loop(pool, deadline, ok, failed)
    end
  end

  ## Helpers

  defp server do
    {:ok, pid} = Wasmex.start_link(%{bytes: @sum})
    pid
  end

  defp load(callers, fun, run_ms \\ @run_ms), do: H.load(callers, fun, run_ms)

  defp rates(%{rate: rate, errors: 0}), do: H.fmt_rate(rate)
  defp rates(%{rate: rate, errors: e}), do: "#{H.fmt_rate(rate)} (#{e} errors)"

  defp print({:error, _}, _title), do: :ok

  defp print({headers, rows}, title) do
    H.heading(title)
    H.table(headers, rows)
  end

  ## The peer node of (d)

  defp start_peer do
    System.cmd("epmd", ["-daemon"])

    unless Node.alive?(),
      do: {:ok, _} = Node.start(:"bench_pool_#{System.unique_integer([:positive])}@127.0.0.1")

    paths = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    args = paths ++ [~c"-setcookie", Atom.to_charlist(Node.get_cookie())]
    name = ~c"bench_peer_#{System.unique_integer([:positive])}"

    {:ok, _peer, node} =
      :peer.start_link(%{name: name, host: ~c"127.0.0.1", longnames: true, args: args})

    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:logger])
    [_ | _] = :erpc.call(node, Code, :compile_string, [@peer_helper])
    node
  end

  defp wait_remote(pool, 0), do: raise("the remote pool #{pool} never joined")

  defp wait_remote(pool, tries) do
    case Pool.call_function(pool, "sum", [1, 2]) do
      {:ok, [3]} -> :ok
      _ -> Process.sleep(20) && wait_remote(pool, tries - 1)
    end
  end
end

Bench.Pool.run()
