# Per-request WASI command runs: MIX_ENV=prod mix run bench/command.exs
#
# `Wasmex.Command.run/2` of the JSON command fixture (a small Rust program that reads a JSON
# request on stdin and writes a JSON response), next to the same work done by hand with
# Store/Pipe/Instance, and a bare `GenServer.call` as the reference row. All timed code lives in
# modules (see bench/README.md). BENCH_SCALE=0.01 gives a smoke run with tiny iteration counts.

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Command.Echo do
  @moduledoc false
  use GenServer

  def init(state), do: {:ok, state}
  def handle_call(request, _from, state), do: {:reply, request, state}
end

defmodule Bench.Command do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.Command
  alias Wasmex.{Instance, Pipe, Store}
  alias Wasmex.Components
  alias Wasmex.Wasi.{WasiOptions, WasiP2Options}

  @request ~s({"path":"/hello","method":"GET","headers":{"accept":"application/json"}})
  @scale System.get_env("BENCH_SCALE", "1") |> Float.parse() |> elem(0)
  @calls max(round(20_000 * @scale), 10)
  @warmup max(round(2_000 * @scale), 5)
  @run_ms max(round(2_000 * @scale), 50)
  @callers 4

  def run do
    t0 = System.monotonic_time(:millisecond)
    IO.puts("# wasmex command benchmarks\n")
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))

    unless Mix.env() == :prod do
      IO.puts("**warning:** MIX_ENV=#{Mix.env()}; run with MIX_ENV=prod for meaningful numbers\n")
    end

    cases = cases()
    check!(cases)
    H.section("(a) latency", 120_000, fn -> latency(cases) end) |> print_latency()
    H.section("(b) throughput", 120_000, fn -> throughput(cases) end) |> print_throughput()

    IO.puts(
      "_total benchmark time: #{H.num((System.monotonic_time(:millisecond) - t0) / 1000)} s_"
    )
  end

  # {label, fun} pairs; every fun answers the request once and returns its stdout.
  defp cases do
    core_bytes = File.read!("test/fixtures/json_command.wasm")
    component_bytes = File.read!("test/fixtures/components/json_command.wasm")
    {:ok, module} = Command.prepare(core_bytes)
    {:ok, component} = Command.prepare(component_bytes)
    {:ok, echo} = GenServer.start(Bench.Command.Echo, nil)
    # Opt-in: an engine with the pooling allocator (memories and stacks reused, fixed capacity).
    # A store holds its slot until it is garbage collected, so runs back to back keep many
    # slots: 100 filled up in the latency loop.
    pooling_config = Wasmex.EngineConfig.pooling(%Wasmex.EngineConfig{}, instances: 2_000)
    {:ok, pooling} = Wasmex.Engine.new(pooling_config)
    {:ok, pooled_module} = Command.prepare(core_bytes, engine: pooling)

    [
      {"`Command.run(module, stdin: request)` (core, prepared)",
       fn -> stdout!(Command.run(module, stdin: @request)) end},
      {"by hand: Pipe × 3 + `Store.new_wasi` + `Instance.new` + `_start` (core)",
       fn -> by_hand_core(module) end},
      {"opt-in pooling engine: the same `Command.run` (core, prepared with `engine:`)",
       fn -> stdout!(Command.run(pooled_module, stdin: @request, engine: pooling)) end},
      {"`Command.run(component, stdin: request)` (component, prepared)",
       fn -> stdout!(Command.run(component, stdin: @request)) end},
      {"by hand: Pipe × 3 + `Components.Store.new_wasi` + `Instance.new` + `run` (component)",
       fn -> by_hand_component(component) end},
      {"`Command.run(bytes, stdin: request)` (core, bytes: compile cache lookup per run)",
       fn -> stdout!(Command.run(core_bytes, stdin: @request)) end},
      {"reference: bare `GenServer.call` (echo)", fn -> GenServer.call(echo, @request) end}
    ]
  end

  defp check!(cases) do
    for {label, fun} <- cases, not String.starts_with?(label, "reference") do
      out = fun.()

      unless is_binary(out) and String.contains?(out, ~s("request":#{@request})),
        do: raise("#{label} answered #{inspect(out)}")
    end
  end

  defp stdout!({:ok, %Command.Result{exit_code: 0, stdout: stdout}}), do: stdout

  defp pipes do
    {:ok, stdin} = Pipe.new()
    {:ok, _} = Pipe.write(stdin, @request)
    :ok = Pipe.seek(stdin, 0)
    {:ok, stdout} = Pipe.new()
    {:ok, stderr} = Pipe.new()
    {stdin, stdout, stderr}
  end

  defp by_hand_core(module) do
    {stdin, stdout, stderr} = pipes()
    wasi = %WasiOptions{args: ["command"], stdin: stdin, stdout: stdout, stderr: stderr}
    {:ok, store} = Store.new_wasi(wasi)
    {:ok, instance} = Instance.new(store, module, %{})
    {:ok, []} = Instance.call(store, instance, "_start", [])
    :ok = Pipe.seek(stdout, 0)
    Pipe.read(stdout)
  end

  defp by_hand_component(component) do
    {stdin, stdout, stderr} = pipes()

    wasi = %WasiP2Options{
      inherit_stdin: false,
      inherit_stdout: false,
      inherit_stderr: false,
      args: ["command"],
      stdin: stdin,
      stdout: stdout,
      stderr: stderr
    }

    {:ok, store} = Components.Store.new_wasi(wasi)
    {:ok, instance} = Components.Instance.new(store, component, %{})
    {:ok, :ok} = Components.Instance.call(instance, ["wasi:cli/run@0.2.0", "run"], [])
    :ok = Pipe.seek(stdout, 0)
    Pipe.read(stdout)
  end

  ## (a) one caller

  defp latency(cases) do
    for {label, fun} <- cases do
      {label, fun |> then(&H.sample(@calls, &1, @warmup)) |> H.stats()}
    end
  end

  defp print_latency({:error, _}), do: :ok

  defp print_latency(rows) do
    H.heading(
      "(a) latency, 1 caller: #{H.group(@calls)} runs after #{H.group(@warmup)} warm-up runs"
    )

    H.table(
      ["path", "median", "p99", "max", "target"],
      for {label, s} <- rows do
        [label, H.fmt_ns(s.median), H.fmt_ns(s.p99), H.fmt_ns(s.max), target(label, s.median)]
      end
    )
  end

  defp target("`Command.run(module" <> _, median),
    do: if(median <= 50_000, do: "≤ 50 µs: met", else: "≤ 50 µs: **missed**")

  defp target(_label, _median), do: ""

  ## (b) four callers

  defp throughput(cases) do
    for {label, fun} <- cases do
      {label, rate(fun, @callers)}
    end
  end

  defp rate(fun, n) do
    parent = self()
    callers = for _ <- 1..n, do: spawn_link(fn -> caller(parent, fun) end)
    for c <- callers, do: receive(do: ({:ready, ^c} -> :ok), after: (5_000 -> :ok))
    deadline = System.monotonic_time(:millisecond) + @run_ms
    t0 = System.monotonic_time(:nanosecond)
    Enum.each(callers, &send(&1, {:go, deadline}))

    counts =
      for c <- callers do
        receive do
          {:done, ^c, count} -> count
        after
          @run_ms + 10_000 -> 0
        end
      end

    elapsed = System.monotonic_time(:nanosecond) - t0
    %{rate: Enum.sum(counts) * 1_000_000_000 / elapsed, runs: Enum.sum(counts)}
  end

  defp caller(parent, fun) do
    send(parent, {:ready, self()})

    receive do
      {:go, deadline} -> send(parent, {:done, self(), loop(fun, deadline, 0)})
    after
      10_000 -> :ok
    end
  end

  # Checks the clock every 16 runs.
  defp loop(fun, deadline, count) do
    if rem(count, 16) == 0 and System.monotonic_time(:millisecond) >= deadline do
      count
    else
      fun.()
      loop(fun, deadline, count + 1)
    end
  end

  defp print_throughput({:error, _}), do: :ok

  defp print_throughput(rows) do
    H.heading("(b) throughput, #{@callers} callers, ~#{@run_ms} ms per row")

    IO.puts("#{:erlang.system_info(:schedulers_online)} schedulers online.\n")

    H.table(
      ["path", "runs", "total", "per caller", "target"],
      for {label, r} <- rows do
        [
          label,
          H.group(r.runs),
          H.fmt_rate(r.rate),
          H.fmt_rate(r.rate / @callers),
          rate_target(label, r.rate)
        ]
      end
    )
  end

  defp rate_target("`Command.run(module" <> _, rate),
    do: if(rate >= 40_000, do: "≥ 40k/s: met", else: "≥ 40k/s: **missed**")

  defp rate_target(_label, _rate), do: ""
end

Bench.Command.run()
