defmodule Bench.Harness do
  @moduledoc """
  A tiny timing harness for the wasmex benchmarks (no Hex dependencies).

  Everything here is compiled (it lives in a `defmodule`), so closures passed to `sample/3` are
  compiled closures too as long as they are created inside a module.
  """

  @ns_per_s 1_000_000_000

  ## Sampling

  @doc """
  Runs `fun` `warmup` times untimed, then `n` times, timing each call on its own with
  `:erlang.monotonic_time(:nanosecond)`. Returns the list of durations (ns).
  """
  def sample(n, fun, warmup \\ 1_000) do
    repeat(warmup, fun)
    loop(n, fun, [])
  end

  @doc """
  Samples `a` and `b` alternately, `n` times each after `n/10` warm-up rounds, so both see the
  same machine state. Returns `{durations_a, durations_b}` (ns).
  """
  def sample_pair(n, a, b) do
    repeat(div(n, 10), fn ->
      a.()
      b.()
    end)

    1..n
    |> Enum.map(fn _ ->
      t0 = :erlang.monotonic_time(:nanosecond)
      a.()
      t1 = :erlang.monotonic_time(:nanosecond)
      b.()
      {t1 - t0, :erlang.monotonic_time(:nanosecond) - t1}
    end)
    |> Enum.unzip()
  end

  defp repeat(0, _fun), do: :ok

  defp repeat(n, fun) do
    fun.()
    repeat(n - 1, fun)
  end

  defp loop(0, _fun, acc), do: acc

  defp loop(n, fun, acc) do
    t0 = :erlang.monotonic_time(:nanosecond)
    fun.()
    t1 = :erlang.monotonic_time(:nanosecond)
    loop(n - 1, fun, [t1 - t0 | acc])
  end

  @doc "Times one call of `fun`: `{ns, result}`."
  def time(fun) do
    t0 = :erlang.monotonic_time(:nanosecond)
    result = fun.()
    {:erlang.monotonic_time(:nanosecond) - t0, result}
  end

  ## Statistics

  @doc "Summary statistics of a list of numbers."
  def stats([]), do: %{n: 0, min: nil, median: nil, p99: nil, max: nil, mean: nil}

  def stats(samples) do
    sorted = samples |> Enum.sort() |> List.to_tuple()
    n = tuple_size(sorted)

    %{
      n: n,
      min: elem(sorted, 0),
      median: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: elem(sorted, n - 1),
      mean: Enum.sum(samples) / n
    }
  end

  # Nearest-rank percentile on a sorted tuple.
  defp percentile(sorted, p) do
    n = tuple_size(sorted)
    rank = max(1, ceil(p / 100 * n))
    elem(sorted, min(rank, n) - 1)
  end

  def median(samples), do: stats(samples).median

  ## Formatting

  @doc "Formats nanoseconds with a suitable unit."
  def fmt_ns(nil), do: "n/a"
  def fmt_ns(ns) when ns < 1_000, do: "#{round(ns)} ns"
  def fmt_ns(ns) when ns < 1_000_000, do: "#{num(ns / 1_000)} µs"
  def fmt_ns(ns) when ns < @ns_per_s, do: "#{num(ns / 1_000_000)} ms"
  def fmt_ns(ns), do: "#{num(ns / @ns_per_s)} s"

  def fmt_us(nil), do: "n/a"
  def fmt_us(us), do: fmt_ns(us * 1_000)

  @doc "Formats a rate (per second) with thousands separators."
  def fmt_rate(rate), do: "#{group(round(rate))}/s"

  def fmt_kb(kb), do: "#{num(kb)} KB"

  def fmt_bytes(b) when b >= 1_048_576, do: "#{num(b / 1_048_576)} MiB (#{group(b)} B)"
  def fmt_bytes(b) when b >= 1024, do: "#{num(b / 1024)} KiB (#{group(b)} B)"
  def fmt_bytes(b), do: "#{b} B"

  @doc "Three significant-ish digits."
  def num(x) when is_integer(x), do: group(x)
  def num(x) when abs(x) >= 100, do: group(round(x))
  def num(x) when abs(x) >= 10, do: :erlang.float_to_binary(x / 1, decimals: 1)
  def num(x), do: :erlang.float_to_binary(x / 1, decimals: 2)

  def group(int) when is_integer(int) and int < 0, do: "-" <> group(-int)

  def group(int) when is_integer(int) do
    int
    |> Integer.to_string()
    |> String.reverse()
    |> String.to_charlist()
    |> Enum.chunk_every(3)
    |> Enum.join(",")
    |> String.reverse()
  end

  @doc "Prints a markdown table."
  def table(headers, rows) do
    rows = Enum.map(rows, fn row -> Enum.map(row, &to_string/1) end)

    widths =
      [headers | rows]
      |> Enum.zip_with(fn col -> col |> Enum.map(&String.length/1) |> Enum.max() end)

    line = fn cells ->
      cells
      |> Enum.zip(widths)
      |> Enum.map_join(" | ", fn {cell, w} -> String.pad_trailing(cell, w) end)
      |> then(&"| #{&1} |")
    end

    sep = widths |> Enum.map_join(" | ", &String.duplicate("-", &1)) |> then(&"| #{&1} |")
    IO.puts(Enum.join([line.(headers), sep | Enum.map(rows, line)], "\n"))
    IO.puts("")
  end

  def heading(text), do: IO.puts("\n## #{text}\n")

  ## Robustness

  @doc """
  Runs `fun` in a fresh process and returns its result, or `{:error, reason}` if it crashed or
  did not finish within `timeout_ms` (then it is killed).

  The section process ends with reason `:shutdown` afterwards, so every process it linked to
  (`Wasmex.start_link/1` servers, `spawn_link`ed callers) goes down with it, whether it finished
  or not. The call waits (bounded) until those linked processes are gone.
  """
  def section(name, timeout_ms, fun) do
    parent = self()
    ref = make_ref()

    {pid, mon} =
      spawn_monitor(fn ->
        result = fun.()
        send(parent, {ref, :result, result, linked()})
        exit(:shutdown)
      end)

    receive do
      {^ref, :result, result, linked} ->
        await_down(mon, 5_000)
        await_gone(linked, 10_000)
        result

      {:DOWN, ^mon, :process, ^pid, reason} ->
        IO.puts("**#{name} crashed:** `#{inspect(reason, limit: 20)}`\n")
        {:error, reason}
    after
      timeout_ms ->
        linked = linked(pid)
        Process.exit(pid, :kill)
        await_down(mon, 5_000)
        await_gone(linked, 10_000)
        IO.puts("**#{name} timed out after #{timeout_ms} ms and was killed**\n")
        {:error, :timeout}
    end
  end

  defp linked(pid \\ self()) do
    case Process.info(pid, :links) do
      {:links, links} -> Enum.filter(links, &is_pid/1)
      nil -> []
    end
  end

  defp await_down(mon, timeout) do
    receive do
      {:DOWN, ^mon, :process, _, _} -> :ok
    after
      timeout -> :timeout
    end
  end

  # Waits until the given processes are dead (they were linked to a section that exited).
  defp await_gone(pids, timeout) do
    deadline = System.monotonic_time(:millisecond) + timeout

    Enum.each(pids, fn pid ->
      mon = Process.monitor(pid)
      left = max(deadline - System.monotonic_time(:millisecond), 0)

      receive do
        {:DOWN, ^mon, :process, ^pid, _} -> :ok
      after
        left ->
          Process.demonitor(mon, [:flush])
          Process.exit(pid, :kill)
      end
    end)
  end

  @doc """
  Load: callers call `fun` in rounds of 20 until `run_ms` is over. `callers` is a count (then
  `fun` takes no argument) or a list (one caller per element, `fun` takes it, e.g. a server of
  its own). A call answering `{:ok, _}` counts as ok, anything else as an error. Returns
  `%{ok: n, errors: n, rate: ok calls per second}`.
  """
  def load(n, fun, run_ms) when is_integer(n),
    do: load(List.duplicate(nil, n), fn nil -> fun.() end, run_ms)

  def load(args, fun, run_ms) when is_list(args) do
    parent = self()
    deadline = System.monotonic_time(:millisecond) + run_ms

    callers =
      for a <- args,
          do: spawn_link(fn -> send(parent, {:done, self(), calls(fun, a, deadline, 0, 0)}) end)

    results =
      for c <- callers do
        receive(do: ({:done, ^c, r} -> r), after: (run_ms + 30_000 -> {0, 0}))
      end

    ok = results |> Enum.map(&elem(&1, 0)) |> Enum.sum()
    errors = results |> Enum.map(&elem(&1, 1)) |> Enum.sum()
    %{ok: ok, errors: errors, rate: ok * 1000 / run_ms}
  end

  defp calls(fun, arg, deadline, ok, errors) do
    {ok, errors} =
      Enum.reduce(1..20, {ok, errors}, fn _, {ok, errors} ->
        case fun.(arg) do
          {:ok, _} -> {ok + 1, errors}
          _ -> {ok, errors + 1}
        end
      end)

    if System.monotonic_time(:millisecond) < deadline,
      do: calls(fun, arg, deadline, ok, errors),
      else: {ok, errors}
  end

  @doc "Unlinks and kills a process (e.g. a `Wasmex.start_link/1` server); waits at most 5 s for it to die."
  def kill(pid) do
    Process.unlink(pid)
    mon = Process.monitor(pid)
    Process.exit(pid, :kill)

    receive do
      {:DOWN, ^mon, :process, ^pid, _} -> :ok
    after
      5_000 -> :timeout
    end
  end

  ## Machine

  def machine_info do
    cpuinfo = read("/proc/cpuinfo")
    meminfo = read("/proc/meminfo")

    model =
      case Regex.run(~r/^model name\s*:\s*(.+)$/m, cpuinfo) do
        [_, m] -> String.trim(m)
        _ -> "unknown"
      end

    mem_total =
      case Regex.run(~r/^MemTotal:\s*(\d+) kB/m, meminfo) do
        [_, kb] -> "#{num(String.to_integer(kb) / 1_048_576)} GiB"
        _ -> "unknown"
      end

    nproc =
      case System.find_executable("nproc") && System.cmd("nproc", []) do
        {out, 0} -> String.trim(out)
        _ -> "#{:erlang.system_info(:logical_processors_available)}"
      end

    [
      {"nproc", nproc},
      {"CPU model", model},
      {"total memory", mem_total},
      {"Elixir", System.version()},
      {"OTP / ERTS", "#{:erlang.system_info(:otp_release)} / #{:erlang.system_info(:version)}"},
      {"schedulers (online)",
       "#{:erlang.system_info(:schedulers_online)} normal, " <>
         "#{:erlang.system_info(:dirty_cpu_schedulers_online)} dirty CPU"},
      {"MIX_ENV", to_string(Mix.env())},
      {"OS", os()}
    ]
  end

  defp os do
    case :os.type() do
      {:unix, :linux} ->
        case Regex.run(~r/^PRETTY_NAME="?([^"\n]+)/m, read("/etc/os-release")) do
          [_, name] -> "Linux (#{name})"
          _ -> "Linux"
        end

      other ->
        inspect(other)
    end
  end

  @doc "Resident set size of the VM in KB (from /proc/self/status), or nil."
  def rss_kb do
    case Regex.run(~r/^VmRSS:\s*(\d+) kB/m, read("/proc/self/status")) do
      [_, kb] -> String.to_integer(kb)
      _ -> nil
    end
  end

  defp read(path) do
    case File.read(path) do
      {:ok, bin} -> bin
      _ -> ""
    end
  end

  ## Inputs

  @root Path.expand("../..", __DIR__)

  @doc "Whether the script runs as a quick check (`BENCH_SMOKE=1`: small inputs, few runs)."
  def smoke?, do: System.get_env("BENCH_SMOKE") == "1"

  @doc """
  The large component of the compile benchmarks: the chat room (`make chat-room-component`) when
  it is built and this is no smoke run, else the largest committed component fixture.
  """
  def big_component do
    chat_room = Path.join(@root, "wasm/chat_room/chat-room.wasm")

    if File.exists?(chat_room) and not smoke?() do
      chat_room
    else
      @root
      |> Path.join("test/fixtures/components/*.wasm")
      |> Path.wildcard()
      |> Enum.max_by(&File.stat!(&1).size)
    end
  end

  @doc "Garbage-collects every process, then lets things settle."
  def gc_all(settle_ms \\ 100) do
    Enum.each(Process.list(), &:erlang.garbage_collect/1)
    Process.sleep(settle_ms)
  end
end
