# Core wasmex benchmarks: MIX_ENV=prod mix run bench/core.exs
#
# All timed code lives in modules (compiled), never at the top level of this script: top-level
# closures are interpreted by erl_eval and would be ~10x slower. See bench/README.md.

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Echo do
  @moduledoc false
  # A GenServer that answers every call with its request: the floor of a server call.
  use GenServer

  @impl true
  def init(state), do: {:ok, state}

  @impl true
  def handle_call(request, _from, state), do: {:reply, request, state}
end

defmodule Bench.Wat do
  @moduledoc false

  @doc "The small module used by most sections."
  def small do
    ~S"""
    (module
      (import "env" "cb" (func $cb (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add)
      (func (export "call_once") (param i32) (result i32)
        local.get 0 call $cb)
      (func (export "call_loop") (param $n i32) (result i32) (local $acc i32)
        (block $done
          (loop $next
            local.get $n i32.eqz br_if $done
            local.get $acc call $cb local.set $acc
            local.get $n i32.const 1 i32.sub local.set $n
            br $next))
        local.get $acc)
      (func (export "spin") (loop br 0)))
    """
  end

  @doc "The import `env.cb`: x -> x + 1."
  def imports do
    %{env: %{cb: {:fn, [:i32], [:i32], &__MODULE__.cb/2}}}
  end

  def cb(_context, x), do: x + 1

  @doc "A module with one 64 KiB memory and a single function (for the memory section)."
  def one_page do
    ~S"""
    (module
      (memory (export "memory") 1)
      (func (export "sum") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))
    """
  end

  @doc """
  A large, data-free module: `count` functions, each a chain of `ops` arithmetic steps with
  per-function constants (so nothing can be deduplicated), every `export_every`th exported.
  """
  def big(count, ops, export_every \\ 8) do
    funcs =
      for f <- 0..(count - 1) do
        body =
          for k <- 1..ops do
            c = rem(f * 7919 + k * 104_729, 1_000_003)

            case rem(k, 4) do
              0 ->
                ["local.get 0 i32.const ", Integer.to_string(c), " i32.add local.set 0\n"]

              1 ->
                [
                  "local.get 0 local.get 1 i32.xor i32.const ",
                  Integer.to_string(c),
                  " i32.mul local.set 0\n"
                ]

              2 ->
                ["local.get 1 i32.const ", Integer.to_string(c), " i32.rotl local.set 1\n"]

              _ ->
                ["local.get 0 local.get 1 i32.sub local.set 1\n"]
            end
          end

        export =
          if rem(f, export_every) == 0,
            do: [" (export \"f", Integer.to_string(f), "\")"],
            else: []

        [
          "(func $f",
          Integer.to_string(f),
          export,
          " (param i32 i32) (result i32)\n",
          body,
          "local.get 0 local.get 1 i32.add)\n"
        ]
      end

    IO.iodata_to_binary(["(module\n", funcs, ")\n"])
  end
end

defmodule Bench.Core do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Bench.Wat
  alias Wasmex.{Instance, Module, Store}

  @calls 100_000
  @warmup 5_000

  def run do
    t0 = System.monotonic_time(:millisecond)

    IO.puts("# wasmex core benchmarks\n")
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))

    unless Mix.env() == :prod do
      IO.puts("**warning:** MIX_ENV=#{Mix.env()}; run with MIX_ENV=prod for meaningful numbers\n")
    end

    # (f) runs first but is printed in order: other sections free a lot of native memory that
    # malloc would reuse for the instances, hiding their RSS cost.
    memory = H.section("(f) memory", 60_000, &memory/0)

    H.section("(a)-(c) latency", 60_000, &latency/0) |> print_latency()
    H.section("(d) throughput", 60_000, &throughput/0) |> print_throughput()
    H.section("(e) compile and start", 60_000, &startup/0) |> print_startup()
    print_memory(memory)
    H.section("(g) fairness", 30_000, &fairness/0) |> print_fairness()

    IO.puts(
      "_total benchmark time: #{H.num((System.monotonic_time(:millisecond) - t0) / 1000)} s_"
    )
  end

  ## (a)-(c): latency of one call

  defp latency do
    wat = Wat.small()
    imports = Wat.imports()

    # (a) through the Wasmex server
    {:ok, pid} = Wasmex.start_link(%{bytes: wat, imports: imports})
    {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2])

    overhead = H.sample(@calls, fn -> :ok end, @warmup)

    server_sum =
      H.sample(@calls, fn -> {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2]) end, @warmup)

    server_once =
      H.sample(
        @calls,
        fn -> {:ok, [8]} = Wasmex.call_function(pid, "call_once", [7]) end,
        @warmup
      )

    H.kill(pid)

    # The reference for (a): a bare GenServer.call round trip with the same message shape.
    {:ok, echo} = GenServer.start_link(Bench.Echo, nil)

    echo_call =
      H.sample(
        @calls,
        fn ->
          {:call_function, "sum", [1, 2], 0} =
            GenServer.call(echo, {:call_function, "sum", [1, 2], 0})
        end,
        @warmup
      )

    H.kill(echo)

    # (b), (c): low-level calls from the process owning the store
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, wat)
    {:ok, instance} = Instance.new(store, module, imports)

    direct_sum =
      H.sample(
        @calls,
        fn -> {:ok, [3]} = Instance.call(store, instance, "sum", [1, 2]) end,
        @warmup
      )

    # The reference for (b): a NIF that decodes the same handles, name and list, and does nothing.
    {store_res, instance_res} = {store.resource, instance.resource}

    floor =
      H.sample(
        @calls,
        fn ->
          true = Wasmex.Native.instance_call_floor(store_res, instance_res, "sum", [1, 2])
        end,
        @warmup
      )

    direct_once =
      H.sample(
        @calls,
        fn -> {:ok, [8]} = Instance.call(store, instance, "call_once", [7]) end,
        @warmup
      )

    loops = 300

    direct_loop =
      H.sample(
        loops,
        fn -> {:ok, [1000]} = Instance.call(store, instance, "call_loop", [1000]) end,
        20
      )
      |> Enum.map(&(&1 / 1000))

    %{
      overhead: H.stats(overhead),
      echo_call: H.stats(echo_call),
      floor: H.stats(floor),
      server_sum: H.stats(server_sum),
      server_once: H.stats(server_once),
      direct_sum: H.stats(direct_sum),
      direct_once: H.stats(direct_once),
      direct_loop: H.stats(direct_loop),
      loops: loops
    }
  end

  defp print_latency({:error, _}), do: :ok

  defp print_latency(r) do
    H.heading(
      "(a)/(b) call latency: `sum(1, 2)`, #{H.group(@calls)} calls each after #{H.group(@warmup)} warm-up"
    )

    H.table(["what", "median", "p99", "max"], [
      row("(a) `Wasmex.call_function(pid, \"sum\", [1, 2])`", r.server_sum),
      row(
        "(b) `Wasmex.Instance.call(store, instance, \"sum\", [1, 2])` (owning process)",
        r.direct_sum
      ),
      row("bare `GenServer.call` echo, the same message (reference for (a))", r.echo_call),
      row("a NIF that only decodes the same handles (reference for (b))", r.floor),
      row("timer overhead (empty closure, included above)", r.overhead)
    ])

    IO.puts(
      "(a) / echo: #{ratio(r.server_sum, r.echo_call, r.overhead)}x (target <= 1.3x); " <>
        "(b) / floor NIF: #{ratio(r.direct_sum, r.floor, r.overhead)}x (target <= 2x), " <>
        "medians less the timer overhead\n"
    )

    H.heading("(c) Elixir import round trip (import `env.cb` = `x + 1`)")

    per_cb = r.direct_once.median - r.direct_sum.median
    per_cb_server = r.server_once.median - r.server_sum.median

    H.table(["what", "median", "p99", "max"], [
      row("`Instance.call(..., \"call_once\", [7])`: guest calls the import once", r.direct_once),
      ["→ cost of one import callback (median call_once − median (b))", H.fmt_ns(per_cb), "", ""],
      row("`Wasmex.call_function(pid, \"call_once\", [7])`", r.server_once),
      [
        "→ cost of one import callback via the server (− median (a))",
        H.fmt_ns(per_cb_server),
        "",
        ""
      ],
      row(
        "`Instance.call(..., \"call_loop\", [1000])`, per import call (#{r.loops} runs ÷ 1000)",
        r.direct_loop
      )
    ])
  end

  defp row(label, s), do: [label, H.fmt_ns(s.median), H.fmt_ns(s.p99), H.fmt_ns(s.max)]

  defp ratio(a, b, overhead),
    do: H.num((a.median - overhead.median) / max(b.median - overhead.median, 1))

  ## (d): throughput with concurrent callers

  @run_ms 2_000

  defp throughput do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, Wat.small())

    for n <- [1, 2, 8, 64], mode <- [:own, :shared], into: %{} do
      {{n, mode}, throughput_run(module, n, mode)}
    end
  end

  defp start_server(module) do
    {:ok, store} = Store.new()
    {:ok, pid} = Wasmex.start_link(%{store: store, module: module, imports: Wat.imports()})
    pid
  end

  defp throughput_run(module, n, mode) do
    servers =
      case mode do
        :own ->
          for _ <- 1..n, do: start_server(module)

        :shared ->
          List.duplicate(start_server(module), n)
      end

    parent = self()
    callers = for s <- servers, do: spawn_link(fn -> caller(parent, s) end)

    # warm-up happens in each caller before it reports ready
    Enum.each(callers, fn c ->
      receive do
        {:ready, ^c} -> :ok
      after
        10_000 -> :ok
      end
    end)

    started = System.monotonic_time(:nanosecond)
    deadline = started + @run_ms * 1_000_000
    Enum.each(callers, &send(&1, {:go, deadline}))

    wait_until = System.monotonic_time(:millisecond) + @run_ms + 10_000

    results =
      Enum.map(callers, fn c ->
        left = max(wait_until - System.monotonic_time(:millisecond), 0)

        receive do
          {:done, ^c, ok, errors, finished} -> {ok, errors, finished}
        after
          left -> {0, 0, nil}
        end
      end)

    Enum.each(callers, &H.kill/1)
    servers |> Enum.uniq() |> Enum.each(&H.kill/1)

    ok = results |> Enum.map(&elem(&1, 0)) |> Enum.sum()
    errors = results |> Enum.map(&elem(&1, 1)) |> Enum.sum()
    missing = Enum.count(results, &(elem(&1, 2) == nil))
    finished = results |> Enum.map(&elem(&1, 2)) |> Enum.reject(&is_nil/1)
    elapsed = if finished == [], do: @run_ms * 1_000_000, else: Enum.max(finished) - started

    %{
      ok: ok,
      errors: errors,
      missing: missing,
      rate: ok / (elapsed / 1.0e9),
      seconds: elapsed / 1.0e9
    }
  end

  defp caller(parent, server) do
    for _ <- 1..200, do: Wasmex.call_function(server, "sum", [1, 2])
    send(parent, {:ready, self()})

    receive do
      {:go, deadline} ->
        {ok, errors} = call_until(server, deadline, 0, 0)
        send(parent, {:done, self(), ok, errors, System.monotonic_time(:nanosecond)})
    after
      30_000 -> :ok
    end
  end

  # Checks the clock every 20 calls.
  defp call_until(server, deadline, ok, errors) do
    {ok, errors} = batch(server, 20, ok, errors)

    if System.monotonic_time(:nanosecond) < deadline,
      do: call_until(server, deadline, ok, errors),
      else: {ok, errors}
  end

  defp batch(_server, 0, ok, errors), do: {ok, errors}

  defp batch(server, n, ok, errors) do
    case Wasmex.call_function(server, "sum", [1, 2]) do
      {:ok, [3]} -> batch(server, n - 1, ok + 1, errors)
      _ -> batch(server, n - 1, ok, errors + 1)
    end
  end

  defp print_throughput({:error, _}), do: :ok

  defp print_throughput(r) do
    H.heading(
      "(d) throughput: `Wasmex.call_function(pid, \"sum\", [1, 2])`, ~#{@run_ms} ms per run"
    )

    IO.puts(
      "(i) each caller has its own server; (ii) all callers share one server. " <>
        "#{:erlang.system_info(:schedulers_online)} schedulers online.\n"
    )

    rows =
      for n <- [1, 2, 8, 64] do
        own = r[{n, :own}]
        shared = r[{n, :shared}]

        [
          n,
          H.fmt_rate(own.rate),
          H.fmt_rate(own.rate / n),
          H.fmt_rate(shared.rate),
          H.fmt_rate(shared.rate / n),
          issues(own) <> issues(shared)
        ]
      end

    H.table(
      [
        "callers",
        "(i) own servers: total",
        "(i) per caller",
        "(ii) one server: total",
        "(ii) per caller",
        "errors"
      ],
      rows
    )
  end

  defp issues(%{errors: 0, missing: 0}), do: ""
  defp issues(%{errors: e, missing: m}), do: "#{e} errors, #{m} callers missing; "

  ## (e): compile, instantiate and start

  # A wasm custom section (id 0) named `name` with no payload; names here are < 128 bytes.
  defp custom_section(name) when byte_size(name) < 100 do
    payload = <<byte_size(name)>> <> name
    <<0, byte_size(payload)>> <> payload
  end

  @tiny "(module (func (export \"sum\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"
  @wide_funcs 1_000
  @wide_ops 105

  @big_funcs 2_500
  @big_ops 42

  defp startup do
    {:ok, store} = Store.new()

    {gen_ns, wat} = H.time(fn -> Wat.big(@big_funcs, @big_ops) end)
    {wat_ns, {:ok, wasm}} = H.time(fn -> Wasmex.Wat.to_wasm(wat) end)

    # Compiled modules are cached by content: each round appends a distinct custom section so
    # every compile does the full work; the cache hit is measured separately below.
    compiled =
      for i <- 1..5 do
        bytes = wasm <> custom_section("bench-#{i}-#{System.unique_integer([:positive])}")
        {ns, {:ok, module}} = H.time(fn -> Module.compile(store, bytes) end)
        {ns, module}
      end

    cache_hit = H.sample(20, fn -> {:ok, _} = Module.compile(store, wasm) end, 1)

    compile = Enum.map(compiled, &elem(&1, 0))
    big = compiled |> List.last() |> elem(1)
    {:ok, small} = Module.compile(store, Wat.small())
    imports = Wat.imports()
    {:ok, tiny} = Module.compile(store, @tiny)
    {:ok, wide_wasm} = Wasmex.Wat.to_wasm(Wat.big(@wide_funcs, @wide_ops, 1))
    {:ok, wide} = Module.compile(store, wide_wasm)

    store_new = H.sample(2_000, fn -> {:ok, _} = Store.new() end, 200)

    inst_small =
      H.sample(
        2_000,
        fn ->
          {:ok, s} = Store.new()
          {:ok, _} = Instance.new(s, small, imports)
        end,
        200
      )

    inst_big =
      H.sample(
        200,
        fn ->
          {:ok, s} = Store.new()
          {:ok, _} = Instance.new(s, big, %{})
        end,
        20
      )

    # Instantiation against the module's size: a tiny module and the ~1 MB one with every one of
    # its 1000 functions exported, interleaved so both see the same machine state.
    {inst_tiny, inst_wide} = H.sample_pair(2_000, fn -> inst!(tiny) end, fn -> inst!(wide) end)

    # The pooling allocator against the on-demand one (the default engine), with the small
    # module (a memory and one import), interleaved; and a first call into a fresh instance.
    {:ok, pooled} = Wasmex.Engine.new(Wasmex.EngineConfig.pooling(%Wasmex.EngineConfig{}, []))
    {:ok, pstore} = Store.new(nil, pooled)
    {:ok, psmall} = Module.compile(pstore, Wat.small())

    {inst_demand, inst_pooled} =
      H.sample_pair(
        2_000,
        fn -> inst!(small, imports, nil) end,
        fn -> inst!(psmall, imports, pooled) end
      )

    {first_demand, first_pooled} =
      H.sample_pair(2_000, fn -> first_call(small, nil) end, fn -> first_call(psmall, pooled) end)

    start_small = sample_start(1_000, %{module: small, imports: imports})
    start_big = sample_start(200, %{module: big})

    %{
      wasm_size: byte_size(wasm),
      wat_size: byte_size(wat),
      gen_ns: gen_ns,
      wat_ns: wat_ns,
      compile: H.stats(compile),
      cache_hit: H.stats(cache_hit),
      store_new: H.stats(store_new),
      inst_small: H.stats(inst_small),
      inst_big: H.stats(inst_big),
      inst_tiny: H.stats(inst_tiny),
      inst_demand: H.stats(inst_demand),
      inst_pooled: H.stats(inst_pooled),
      first_demand: H.stats(first_demand),
      first_pooled: H.stats(first_pooled),
      inst_wide: H.stats(inst_wide),
      wide_size: byte_size(wide_wasm),
      start_small: H.stats(start_small),
      start_big: H.stats(start_big)
    }
  end

  defp inst!(module, imports \\ %{}, engine \\ nil) do
    {:ok, s} = Store.new(nil, engine)
    {:ok, _} = Instance.new(s, module, imports)
  end

  # Store.new + Instance.new + the first call of `sum` into it.
  defp first_call(module, engine) do
    {:ok, s} = Store.new(nil, engine)
    {:ok, i} = Instance.new(s, module, Wat.imports())
    {:ok, [3]} = Instance.call(s, i, "sum", [1, 2])
  end

  # Times Store.new + Wasmex.start_link; the server is stopped outside the timed region.
  defp sample_start(n, opts) do
    for i <- 1..(n + div(n, 10)), reduce: [] do
      acc ->
        t0 = :erlang.monotonic_time(:nanosecond)
        {:ok, s} = Store.new()
        {:ok, pid} = Wasmex.start_link(Map.put(opts, :store, s))
        t1 = :erlang.monotonic_time(:nanosecond)
        H.kill(pid)
        # the first n/10 are warm-up
        if i > div(n, 10), do: [t1 - t0 | acc], else: acc
    end
  end

  defp print_startup({:error, _}), do: :ok

  defp print_startup(r) do
    H.heading("(e) compile, instantiate, start (medians)")

    IO.puts(
      "Large module: #{H.group(@big_funcs)} functions × #{@big_ops} arithmetic steps, no data; " <>
        "WAT #{H.fmt_bytes(r.wat_size)} (generated in #{H.fmt_ns(r.gen_ns)}, " <>
        "WAT→wasm #{H.fmt_ns(r.wat_ns)}), wasm **#{H.fmt_bytes(r.wasm_size)}**.\n"
    )

    H.table(["what", "median", "p99", "samples"], [
      stat_row("`Module.compile(store, wasm)` of the large module", r.compile),
      stat_row("the same bytes compiled again (content cache hit)", r.cache_hit),
      stat_row("`Store.new()`", r.store_new),
      stat_row("`Store.new()` + `Instance.new` (small module, 1 import)", r.inst_small),
      stat_row("`Store.new()` + `Instance.new` (large module)", r.inst_big),
      stat_row(
        "`Store.new()` + `Instance.new` (tiny module: one function, no memory, no imports)",
        r.inst_tiny
      ),
      stat_row(
        "`Store.new()` + `Instance.new` (#{H.group(@wide_funcs)} functions, all exported, " <>
          "#{H.fmt_bytes(r.wide_size)}; target ≤ 1.2× the tiny module: " <>
          "#{Float.round(r.inst_wide.median / r.inst_tiny.median, 2)}×)",
        r.inst_wide
      ),
      stat_row(
        "`Store.new()` + `Instance.new` (small module), on-demand allocator",
        r.inst_demand
      ),
      stat_row(
        "the same with `EngineConfig.pooling(config, [])` (target ≤ 5 µs)",
        r.inst_pooled
      ),
      stat_row("the same + first call of `sum`, on-demand allocator", r.first_demand),
      stat_row("the same + first call of `sum`, pooling allocator", r.first_pooled),
      stat_row(
        "`Store.new()` + `Wasmex.start_link(%{store:, module:})` (small module)",
        r.start_small
      ),
      stat_row(
        "`Store.new()` + `Wasmex.start_link(%{store:, module:})` (large module)",
        r.start_big
      )
    ])
  end

  defp stat_row(label, s), do: [label, H.fmt_ns(s.median), H.fmt_ns(s.p99), s.n]

  ## (f): memory per idle instance

  @instances 1_000

  defp memory do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, Wat.one_page())

    # warm up: one server started and stopped, so one-time allocations are not counted
    {:ok, s} = Store.new()
    {:ok, pid} = Wasmex.start_link(%{store: s, module: module})
    {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2])
    H.kill(pid)

    H.gc_all(200)
    before = snapshot()

    pids =
      for _ <- 1..@instances do
        {:ok, s} = Store.new()
        {:ok, pid} = Wasmex.start_link(%{store: s, module: module})
        pid
      end

    H.gc_all(200)
    idle = snapshot()

    # then one call on each, which may leave per-store state (e.g. a cached fiber stack) behind
    Enum.each(pids, fn pid -> {:ok, [3]} = Wasmex.call_function(pid, "sum", [1, 2]) end)
    H.gc_all(200)
    called = snapshot()

    Enum.each(pids, &H.kill/1)
    H.gc_all(200)
    stopped = snapshot()

    %{before: before, idle: idle, called: called, stopped: stopped}
  end

  defp snapshot do
    %{
      total: :erlang.memory(:total),
      processes: :erlang.memory(:processes),
      binary: :erlang.memory(:binary),
      rss_kb: H.rss_kb()
    }
  end

  defp print_memory({:error, _}), do: :ok

  defp print_memory(r) do
    H.heading(
      "(f) memory per idle instance (#{H.group(@instances)} `Wasmex` servers, own store each, shared compiled module with `(memory 1)`)"
    )

    n = @instances
    kb = fn bytes -> bytes / 1024 end

    rows =
      for {label, at} <- [{"idle", r.idle}, {"after one call each", r.called}] do
        beam = kb.(at.total - r.before.total)
        procs = kb.(at.processes - r.before.processes)
        rss = if at.rss_kb && r.before.rss_kb, do: at.rss_kb - r.before.rss_kb

        native = rss && rss - beam

        [
          label,
          "#{H.fmt_kb(beam / n)} (#{H.fmt_kb(procs / n)} in processes)",
          rss && H.fmt_kb(rss / n),
          native && H.fmt_kb(native / n),
          "#{H.num(beam / 1024)} MB BEAM / #{rss && H.num(rss / 1024)} MB RSS"
        ]
      end

    H.table(
      [
        "state",
        "BEAM per instance (:erlang.memory(:total))",
        "RSS per instance (VmRSS)",
        "native ≈ RSS − BEAM",
        "total for #{n}"
      ],
      rows
    )

    left = r.stopped.rss_kb && r.before.rss_kb && r.stopped.rss_kb - r.before.rss_kb

    IO.puts(
      "After stopping all #{n}: BEAM #{H.num((r.stopped.total - r.before.total) / 1_048_576)} MB, " <>
        "RSS #{left && H.num(left / 1024)} MB above the baseline " <>
        "(freed memory is not always returned to the OS).\n"
    )
  end

  ## (g): scheduler fairness under spinning guests

  @spinners 4
  @spin_ms 3_000
  @spin_timeout 100

  defp fairness do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, Wat.small())
    servers = for _ <- 1..@spinners, do: start_server(module)

    # baseline: the ticker alone
    baseline = run_ticker(1_000, fn -> :ok end)

    parent = self()

    loaded =
      run_ticker(@spin_ms, fn ->
        deadline = System.monotonic_time(:millisecond) + @spin_ms

        spinners =
          for s <- servers do
            spawn_link(fn -> send(parent, {:spun, self(), spin_until(s, deadline, [])}) end)
          end

        Enum.map(spinners, fn p ->
          receive do
            {:spun, ^p, calls} -> calls
          after
            @spin_ms + 5_000 -> []
          end
        end)
      end)

    # the servers must be responsive right after
    after_sum =
      Enum.map(servers, fn s ->
        {ns, res} = H.time(fn -> Wasmex.call_function(s, "sum", [1, 2], 1_000) end)
        {ns, res}
      end)

    # the same spinning load through the low-level API (no GenServer.call timeout to mask a late
    # stop): 4 processes owning their store call spin with a 95 ms native timeout for 1 s
    direct = direct_spin(module, 1_000, @spin_timeout - 5)

    Enum.each(servers, &H.kill/1)

    %{baseline: baseline, loaded: loaded, after_sum: after_sum, direct: direct}
  end

  # Runs a ticker while `load` runs; returns {lateness samples in µs, load result}.
  defp run_ticker(ms, load) do
    parent = self()

    ticker =
      spawn_link(fn -> tick([], System.monotonic_time(:millisecond) + ms + 200, parent) end)

    result = load.()
    if ms > 0 and result == :ok, do: Process.sleep(ms)
    send(ticker, :stop)

    lateness =
      receive do
        {:ticks, ^ticker, samples} -> samples
      after
        5_000 -> []
      end

    {lateness, result}
  end

  defp tick(acc, hard_stop, parent) do
    t0 = :erlang.monotonic_time(:microsecond)

    receive do
      :stop -> send(parent, {:ticks, self(), acc})
    after
      1 ->
        late = :erlang.monotonic_time(:microsecond) - t0 - 1_000

        if System.monotonic_time(:millisecond) > hard_stop,
          do: send(parent, {:ticks, self(), [late | acc]}),
          else: tick([late | acc], hard_stop, parent)
    end
  end

  defp spin_until(server, deadline, acc) do
    if System.monotonic_time(:millisecond) >= deadline do
      acc
    else
      {ns, res} = H.time(fn -> Wasmex.call_function(server, "spin", [], @spin_timeout) end)
      spin_until(server, deadline, [{ns, res} | acc])
    end
  end

  defp direct_spin(module, ms, timeout) do
    parent = self()
    deadline = System.monotonic_time(:millisecond) + ms

    procs =
      for _ <- 1..@spinners do
        spawn_link(fn ->
          {:ok, s} = Store.new()
          {:ok, i} = Instance.new(s, module, Wat.imports())
          send(parent, {:direct, self(), direct_loop(s, i, timeout, deadline, [])})
        end)
      end

    Enum.flat_map(procs, fn p ->
      receive do
        {:direct, ^p, calls} -> calls
      after
        ms + 5_000 -> []
      end
    end)
  end

  defp direct_loop(s, i, timeout, deadline, acc) do
    if System.monotonic_time(:millisecond) >= deadline do
      acc
    else
      {ns, res} = H.time(fn -> Instance.call(s, i, "spin", [], timeout) end)
      direct_loop(s, i, timeout, deadline, [{ns, res} | acc])
    end
  end

  defp print_fairness({:error, _}), do: :ok

  defp print_fairness(r) do
    H.heading("(g) scheduler fairness: 1 ms ticker vs #{@spinners} spinning guests")

    {base, _} = r.baseline
    {loaded, spins} = r.loaded
    calls = List.flatten(spins)
    b = H.stats(base)
    l = H.stats(loaded)

    IO.puts(
      "A ticker process loops on `receive after 1` and records lateness = actual − (start + 1 ms). " <>
        "Load: #{@spinners} processes, each with its own server, repeatedly call " <>
        "`Wasmex.call_function(pid, \"spin\", [], #{@spin_timeout})` (`(loop br 0)`) for ~#{@spin_ms} ms.\n"
    )

    H.table(["ticker lateness", "ticks", "p50", "p99", "max"], [
      ["idle (1 s baseline)", b.n, H.fmt_us(b.median), H.fmt_us(b.p99), H.fmt_us(b.max)],
      ["under spinning load", l.n, H.fmt_us(l.median), H.fmt_us(l.p99), H.fmt_us(l.max)]
    ])

    durations = Enum.map(calls, &elem(&1, 0))
    d = H.stats(durations)
    timeouts = Enum.count(calls, &(elem(&1, 1) == {:error, :timeout}))
    by_server = Enum.count(durations, &(&1 < @spin_timeout * 1_000_000))
    over = Enum.count(durations, &(&1 > 150_000_000))

    verdict =
      if d.max && d.max <= 150_000_000, do: "PASS", else: "FAIL (#{over} of #{d.n} > 150 ms)"

    direct = r.direct
    dd = direct |> Enum.map(&elem(&1, 0)) |> H.stats()
    direct_timeouts = Enum.count(direct, &(elem(&1, 1) == {:error, :timeout}))

    after_max = r.after_sum |> Enum.map(&elem(&1, 0)) |> Enum.max(fn -> nil end)
    after_ok = Enum.count(r.after_sum, &(elem(&1, 1) == {:ok, [3]}))

    H.table(
      ["spinning call", "calls", "{:error, :timeout}", "median", "p99", "max", "target ≤ 150 ms"],
      [
        [
          "`Wasmex.call_function(pid, \"spin\", [], #{@spin_timeout})`",
          d.n,
          timeouts,
          H.fmt_ns(d.median),
          H.fmt_ns(d.p99),
          H.fmt_ns(d.max),
          verdict
        ],
        [
          "`Instance.call(store, i, \"spin\", [], #{@spin_timeout - 5})` (owning process, 1 s)",
          dd.n,
          direct_timeouts,
          H.fmt_ns(dd.median),
          H.fmt_ns(dd.p99),
          H.fmt_ns(dd.max),
          ""
        ]
      ]
    )

    IO.puts(
      "#{by_server} of #{d.n} server calls returned before #{@spin_timeout} ms, i.e. with the server's own " <>
        "`{:error, :timeout}` (the guest is stopped at #{@spin_timeout - 5} ms); the rest were cut by the " <>
        "caller's `GenServer.call` timeout. Right after the load, `sum` answered on " <>
        "#{after_ok}/#{length(r.after_sum)} servers (slowest #{H.fmt_ns(after_max)}).\n"
    )
  end
end

Bench.Core.run()
