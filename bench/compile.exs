# Compile time and call speed by compiler: MIX_ENV=prod mix run bench/compile.exs
#
# The chat-room component (`make chat-room-component`; else the largest committed component
# fixture, named in the output) and a small core module (test/fixtures/json_command.wasm), each
# compiled with Cranelift and with Winch (`Wasmex.EngineConfig.compiler/2`), side by side. Every
# compile uses a fresh engine and no cache directory, so neither cache answers. For each: wall
# time and the OS process's CPU time (utime + stime from /proc/self/stat: it counts every
# thread, the compile's worker threads too, which `:erlang.statistics(:runtime)` does not), and
# CPU / wall, which shows how many cores the compile kept busy (nproc is printed).
#
# Then the call speed of the code each compiler made: the chat room's `init`, `add-message`
# (two Elixir import calls inside) and `message-added` with a 100-message state, through the
# component server; and a core `fib(25)` (pure guest compute) through the Wasmex server.
# BENCH_SMOKE=1 checks the script quickly (the fixture, fewer runs). All timed code lives in
# modules (compiled).

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Compile do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.{Engine, EngineConfig}

  @root Path.expand("..", __DIR__)
  @fixtures Path.join(@root, "test/fixtures")
  @compilers [:cranelift, :winch]
  # The chat room's `init` writes a line to its stdout.
  @quiet_wasi %Wasmex.Wasi.WasiP2Options{inherit_stdout: false}

  @fib_wat ~S"""
  (module
    (func $fib (export "fib") (param i64) (result i64)
      (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
        (then (local.get 0))
        (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                       (call $fib (i64.sub (local.get 0) (i64.const 2))))))))
  """

  def run do
    vm_tids = MapSet.new(File.ls!("/proc/self/task"))
    Application.delete_env(:wasmex, :cache_dir)
    H.table(["machine", "value"], Enum.map(H.machine_info(), &Tuple.to_list/1))
    IO.puts("load average: #{String.trim(File.read!("/proc/loadavg"))}\n")

    unless Mix.env() == :prod do
      IO.puts("**warning:** MIX_ENV=#{Mix.env()}; run with MIX_ENV=prod for meaningful numbers\n")
    end

    component = H.big_component()
    core = Path.join(@fixtures, "json_command.wasm")
    {big_runs, small_runs, calls} = if H.smoke?(), do: {1, 5, 200}, else: {3, 30, 2_000}

    H.heading("Compile time by compiler (fresh engine per compile, no cache)")

    rows =
      for {path, kind, runs} <- [{component, :component, big_runs}, {core, :module, small_runs}],
          compiler <- @compilers do
        compile_row(path, kind, compiler, runs)
      end

    H.table(["input", "compiler", "runs", "wall (median)", "CPU (median)", "CPU / wall"], rows)

    H.heading("The threads one compile keeps busy (CPU time > 5% of the wall time)")

    H.table(
      ["input", "compiler", "wall", "threads (CPU time)"],
      for(compiler <- @compilers, do: busy_threads(component, :component, compiler, vm_tids))
    )

    H.heading("Call speed by compiler (medians of #{calls} calls; p99 in brackets)")

    call_rows =
      for compiler <- @compilers do
        chat_calls(component, compiler, calls) ++ [fib_call(compiler, div(calls, 10))]
      end

    H.table(["compiler", "call", "median", "p99"], Enum.concat(call_rows))
  end

  defp engine!(compiler) do
    {:ok, engine} = Engine.new(EngineConfig.compiler(%EngineConfig{}, compiler))
    engine
  end

  # `runs` compiles of `path`, each with a fresh engine: medians of wall and CPU time.
  defp compile_row(path, kind, compiler, runs) do
    bytes = File.read!(path)

    samples =
      for _ <- 1..runs do
        engine = engine!(compiler)
        cpu0 = cpu_ns()
        {wall, {:ok, _}} = H.time(fn -> compile(kind, engine, bytes) end)
        {wall, cpu_ns() - cpu0}
      end

    {walls, cpus} = Enum.unzip(samples)
    ratio = Enum.sum(cpus) / max(Enum.sum(walls), 1)

    [
      "#{Path.basename(path)} (#{H.fmt_bytes(byte_size(bytes))})",
      compiler,
      runs,
      H.fmt_ns(H.median(walls)),
      H.fmt_ns(H.median(cpus)),
      H.num(ratio)
    ]
  end

  defp compile(:component, engine, bytes) do
    {:ok, store} = Wasmex.Components.Store.new(nil, engine)
    Wasmex.Components.Component.new(store, bytes)
  end

  defp compile(:module, engine, bytes) do
    {:ok, store} = Wasmex.Store.new(nil, engine)
    Wasmex.Module.compile(store, bytes)
  end

  # The CPU time of the whole OS process (every thread), in nanoseconds.
  defp cpu_ns, do: stat_cpu_ns("/proc/self/stat")

  # utime + stime (fields 14 and 15, clock ticks of 10 ms) of a /proc stat file, in ns. The
  # fields are counted after the command's `)`: the name may hold spaces.
  defp stat_cpu_ns(file) do
    case File.read(file) do
      {:ok, stat} ->
        [_, after_comm] = String.split(stat, ") ", parts: 2)
        fields = String.split(after_comm, " ")
        # after_comm starts at field 3 (state): utime is field 14, stime 15
        utime = fields |> Enum.at(11) |> String.to_integer()
        stime = fields |> Enum.at(12) |> String.to_integer()
        (utime + stime) * 10_000_000

      {:error, _} ->
        0
    end
  end

  # The CPU time (ns) and name of each thread of the process, by thread id.
  defp threads do
    for tid <- File.ls!("/proc/self/task"), into: %{} do
      name =
        case File.read("/proc/self/task/#{tid}/comm") do
          {:ok, comm} -> String.trim(comm)
          {:error, _} -> "?"
        end

      {tid, {stat_cpu_ns("/proc/self/task/#{tid}/stat"), name}}
    end
  end

  # Which threads one compile of `path` keeps busy: those whose CPU time grew by more than 5%
  # of the compile's wall time, with that CPU time. Unnamed threads that did not exist when the
  # script started (`vm_tids`) are wasmtime's compile workers (rayon's pool, made at the first
  # parallel compile; they inherit the name of the thread that made them); the crate names its
  # own threads `wasmex-*` (the epoch ticker).
  defp busy_threads(path, kind, compiler, vm_tids) do
    bytes = File.read!(path)
    engine = engine!(compiler)
    before = threads()
    {wall, {:ok, _}} = H.time(fn -> compile(kind, engine, bytes) end)

    busy =
      for {tid, {ns, name}} <- threads(),
          grew = ns - elem(Map.get(before, tid, {0, ""}), 0),
          grew > wall / 20 do
        own? = MapSet.member?(vm_tids, tid) or String.starts_with?(name, "wasmex-")
        label = if own?, do: name, else: "compile worker"
        {grew, "#{label} #{H.fmt_ns(grew)}"}
      end

    labels = busy |> Enum.sort(:desc) |> Enum.map(&elem(&1, 1))
    [Path.basename(path), compiler, H.fmt_ns(wall), Enum.join(labels, ", ")]
  end

  defp chat_calls(path, compiler, calls) do
    {path, exports} = call_target(path)

    {:ok, store} = Wasmex.Components.Store.new_wasi(@quiet_wasi, nil, engine!(compiler))

    imports = %{"publish-message" => {:fn, fn _message -> {:ok, "published"} end}}
    {:ok, pid} = Wasmex.Components.start_link(path: path, store: store, imports: imports)

    rows =
      for {name, args} <- exports do
        {:ok, _} = Wasmex.Components.call_function(pid, name, args)
        fun = fn -> {:ok, _} = Wasmex.Components.call_function(pid, name, args) end
        stats = H.stats(H.sample(calls, fun, div(calls, 10)))
        [compiler, "#{Path.basename(path)} #{name}", H.fmt_ns(stats.median), H.fmt_ns(stats.p99)]
      end

    GenServer.stop(pid)
    rows
  end

  # The chat room's exports, or (without it) two of the types fixture's.
  defp call_target(path) do
    if Path.basename(path) == "chat-room.wasm" do
      state = for i <- 1..100, do: "message #{i}"
      {path, [{"init", []}, {"add-message", ["hello"]}, {"message-added", ["hello", state]}]}
    else
      types = Path.join(@fixtures, "components/component_types.wasm")
      {types, [{"echo-string", ["hello"]}, {"make-points", [100]}]}
    end
  end

  defp fib_call(compiler, calls) do
    {:ok, store} = Wasmex.Store.new(nil, engine!(compiler))
    {:ok, pid} = Wasmex.start_link(%{bytes: @fib_wat, store: store})
    fun = fn -> {:ok, [75_025]} = Wasmex.call_function(pid, "fib", [25]) end
    stats = H.stats(H.sample(calls, fun, div(calls, 10)))
    GenServer.stop(pid)
    [compiler, "core fib(25)", H.fmt_ns(stats.median), H.fmt_ns(stats.p99)]
  end
end

Bench.Compile.run()
