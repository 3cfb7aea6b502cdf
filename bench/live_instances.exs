# Many live component instances in one VM: MIX_ENV=prod mix run bench/live_instances.exs
#
#   LIVE_N       how many instances (default 100_000), each owned by its own process
#   LIVE_API     `store` (default): a plain process with Components.Store/Component/Instance;
#                `server`: one `Wasmex.Components` server per instance
#   LIVE_MEMORY  `small` (default): an engine with `EngineConfig.memory(reservation: 0,
#                guard_size: 0, reservation_for_growth: 0)`; `default`: the shared default
#                engine (4 GiB reservation + guards per memory)
#
# Prints the limits it runs under (vm.max_map_count, the process limit, ulimit -v) and what the
# run needs; it changes none of them. Then: time to create, VmRSS, :erlang.memory(:total) and the
# mapping count (/proc/self/maps lines) before and after, the cost per instance, and one call on
# every instance to show that each is alive. Run one configuration per VM: memory freed by an
# earlier run would be reused and hide the RSS cost.

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.LiveInstances do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.Components.{Component, Instance, Store}

  # A tiny component with one page of linear memory; a call writes one OS page of it.
  @wat File.read!(Path.expand("../test/fixtures/components/counter.wat", __DIR__))

  # Mappings a live instance holds after a call, measured (see the guide "Many live
  # instances"): the call's fiber stack and its guard page (2), plus the linear memory's
  # mappings (about 0 with the small memory setting, which merges neighbours; 2 by default).
  @maps_per_instance %{"small" => 2, "default" => 4}

  def run do
    n = env_int("LIVE_N", 100_000)
    api = System.get_env("LIVE_API", "store")
    memory = System.get_env("LIVE_MEMORY", "small")
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))
    IO.puts("load: #{String.trim(File.read!("/proc/loadavg"))}\n")
    limits(n, memory)

    engine = engine(memory)
    {:ok, store} = Store.new(nil, engine)
    {:ok, component} = Component.new(store, @wat)
    Process.flag(:trap_exit, true)

    H.heading("#{group(n)} instances (api: #{api}, memory: #{memory})")
    before = snapshot()
    {us, {owners, failures}} = :timer.tc(fn -> start_all(n, api, engine, component) end)
    created = snapshot()
    live = length(owners)

    report_failures("create", failures)
    {call_us, call_failures} = :timer.tc(fn -> call_all(owners) end)
    called = snapshot()
    report_failures("call", call_failures)

    page = page_size()

    H.table(
      ["", "before", "after create", "after one call each"],
      [
        [
          "live instances (after the call: those that answered it)",
          0,
          group(live),
          group(live - length(call_failures))
        ],
        ["VmRSS", kib(before.rss), kib(created.rss), kib(called.rss)],
        [":erlang.memory(:total)", kib(before.beam), kib(created.beam), kib(called.beam)],
        [
          "mappings (/proc/self/maps lines)",
          group(before.maps),
          group(created.maps),
          group(called.maps)
        ]
      ]
    )

    per = fn key, snap ->
      if live > 0, do: (Map.fetch!(snap, key) - before[key]) / live, else: 0
    end

    H.table(
      ["per live instance", "after create", "after one call"],
      [
        ["VmRSS delta", bytes(per.(:rss, created)), bytes(per.(:rss, called))],
        [
          "of which BEAM (:erlang.memory)",
          bytes(per.(:beam, created)),
          bytes(per.(:beam, called))
        ],
        ["committed linear memory (pages the guest wrote)", "0 B", bytes(page)],
        [
          "cost beyond linear memory (RSS delta - committed)",
          bytes(per.(:rss, created)),
          bytes(per.(:rss, called) - page)
        ],
        ["mappings", num(per.(:maps, created)), num(per.(:maps, called))]
      ]
    )

    IO.puts("""
    Create: #{H.fmt_us(us)} for #{group(n)} (#{H.fmt_us(us / max(n, 1))} each). \
    One call on each: #{H.fmt_us(call_us)}; #{length(call_failures)} failed.

    Cost beyond linear memory = (VmRSS after - VmRSS before) / live instances - the linear
    memory the guest committed: a call writes one i32 at address 0, one OS page (#{page} B);
    instantiation writes none (no data segment).
    """)

    Enum.each(owners, &stop/1)
  end

  defp engine("default"), do: nil

  defp engine("small") do
    config =
      Wasmex.EngineConfig.memory(%Wasmex.EngineConfig{},
        reservation: 0,
        guard_size: 0,
        reservation_for_growth: 0
      )

    {:ok, engine} = Wasmex.Engine.new(config)
    engine
  end

  ## Limits

  defp limits(n, memory) do
    max_map = read_int("/proc/sys/vm/max_map_count")
    need_maps = n * Map.fetch!(@maps_per_instance, memory) + 10_000
    procs = :erlang.system_info(:process_limit)
    as_limit = address_space_limit()

    H.table(
      ["limit", "value", "this run needs", "raised by"],
      [
        [
          "vm.max_map_count",
          group(max_map),
          "~#{group(need_maps)}",
          "sysctl -w vm.max_map_count=N"
        ],
        [
          "process limit",
          group(procs),
          "> #{group(n)}",
          "erl +P N (ELIXIR_ERL_OPTIONS=\"+P N\")"
        ],
        [
          "address space (ulimit -v)",
          as_limit,
          if(memory == "default", do: "~4.1 GiB per instance", else: "~2.1 MiB per instance"),
          "ulimit -v unlimited"
        ]
      ]
    )

    if max_map < need_maps do
      IO.puts(
        "**warning:** vm.max_map_count #{group(max_map)} is below the ~#{group(need_maps)} " <>
          "mappings #{group(n)} live instances need; expect refused mappings.\n"
      )
    end

    if procs <= n do
      IO.puts("**warning:** the process limit #{group(procs)} is not above #{group(n)}.\n")
    end
  end

  defp address_space_limit do
    case Regex.run(~r/^Max address space\s+(\S+)/m, File.read!("/proc/self/limits")) do
      [_, "unlimited"] -> "unlimited"
      [_, bytes] -> bytes(String.to_integer(bytes))
      _ -> "unknown"
    end
  end

  ## Owners

  defp start_all(n, "store", engine, component) do
    parent = self()

    pids =
      for _ <- 1..n do
        spawn(fn -> own(parent, engine, component) end)
      end

    collect(pids)
  end

  defp start_all(n, "server", engine, _component) do
    results =
      for _ <- 1..n do
        with {:ok, store} <- Store.new(nil, engine),
             {:ok, pid} <- Wasmex.Components.start_link(bytes: @wat, store: store) do
          {:ok, {:server, pid}}
        end
      end

    {for({:ok, o} <- results, do: o), for({:error, r} <- results, do: r)}
  end

  # One instance, owned by this process until told to stop.
  defp own(parent, engine, component) do
    result =
      with {:ok, store} <- Store.new(nil, engine),
           {:ok, instance} <- Instance.new(store, component, %{}),
           do: {:ok, instance}

    case result do
      {:ok, instance} ->
        send(parent, {:up, self()})
        serve(instance)

      {:error, reason} ->
        send(parent, {:failed, self(), reason})
    end
  end

  defp serve(instance) do
    receive do
      {:call, from} ->
        send(from, {:called, self(), Instance.call(instance, "bump", [])})
        serve(instance)

      :stop ->
        :ok
    end
  end

  # Answers in any order: a selective receive per pid would scan the mailbox each time.
  defp collect(pids) do
    Enum.reduce(pids, {[], []}, fn _, {up, failed} ->
      receive do
        {:up, pid} -> {[{:process, pid} | up], failed}
        {:failed, _pid, reason} -> {up, [reason | failed]}
      after
        60_000 -> {up, [:no_answer_in_60_s | failed]}
      end
    end)
  end

  defp call_all(owners) do
    me = self()
    processes = for {:process, pid} <- owners, do: send(pid, {:call, me})

    from_processes =
      Enum.flat_map(processes, fn _ ->
        receive do
          {:called, _pid, {:ok, 1}} -> []
          {:called, _pid, other} -> [other]
        after
          60_000 -> [:no_answer_in_60_s]
        end
      end)

    from_servers =
      for {:server, pid} <- owners,
          result = Wasmex.Components.call_function(pid, "bump", [], 60_000),
          result != {:ok, 1},
          do: result

    from_processes ++ from_servers
  end

  defp stop({:process, pid}), do: send(pid, :stop)
  defp stop({:server, pid}), do: GenServer.stop(pid)

  defp report_failures(_what, []), do: :ok

  defp report_failures(what, failures) do
    IO.puts("**#{length(failures)} #{what} failures**; distinct reasons:\n")

    failures
    |> Enum.frequencies()
    |> Enum.each(fn {reason, count} -> IO.puts("* #{count} x #{inspect(reason)}") end)

    IO.puts("")
  end

  ## Measurements

  defp snapshot do
    H.gc_all(200)
    %{rss: H.rss_kb() * 1024, beam: :erlang.memory(:total), maps: map_count()}
  end

  defp map_count do
    "/proc/self/maps" |> File.stream!() |> Enum.count()
  end

  defp page_size do
    case System.cmd("getconf", ["PAGESIZE"]) do
      {out, 0} -> out |> String.trim() |> String.to_integer()
      _ -> 4096
    end
  end

  defp read_int(path), do: path |> File.read!() |> String.trim() |> String.to_integer()

  defp env_int(name, default) do
    case System.get_env(name) do
      nil -> default
      text -> text |> String.replace("_", "") |> String.to_integer()
    end
  end

  defp kib(b), do: "#{group(div(b, 1024))} KiB"
  defp bytes(b), do: "#{group(round(b))} B"
  defp num(x), do: H.num(x)
  defp group(n), do: H.group(n)
end

Bench.LiveInstances.run()
