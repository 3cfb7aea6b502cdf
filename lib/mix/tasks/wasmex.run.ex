defmodule Mix.Tasks.Wasmex.Run do
  @shortdoc "Runs a WebAssembly command, or calls one of its exports"

  @moduledoc ~S"""
  Runs a WASI command (a core module's `_start` or a component's `wasi:cli/run`), like
  `wasmtime run`:

      mix wasmex.run [OPTIONS] FILE [ARGS...]

  `FILE` is a `.wasm` binary or `.wat` text, a core module or a component. `ARGS` become the
  guest's arguments (its `argv[0]` is the file's name). The task's stdin is read to its end and
  given to the guest (redirect it, e.g. `< /dev/null`, when there is nothing to read); what the
  guest writes to stdout and stderr goes to the task's, byte for byte, when it ends; the task
  exits with the guest's exit code.

      $ echo '{"id": 1}' | mix wasmex.run test/fixtures/json_command.wasm
      {"ok":true,"bytes":10,"args":[],"request":{"id": 1}}

  With `--invoke NAME` it calls that export instead, with `ARGS` as its arguments, and prints its
  results, one a line. A core function's arguments are read by its parameter types (integers for
  `i32`/`i64`, numbers for `f32`/`f64`); a component function's (`NAME` or `INTERFACE#NAME`) are
  read as integers, floats, `true`/`false` or strings (`'"42"'` for the string `42`), and its
  result is printed as an Elixir term. A reactor's `_initialize` runs first.

      $ mix wasmex.run --invoke add math.wat 1 2
      3

  Options (before `FILE`; everything after it belongs to the guest):

    * `--invoke NAME` - call the export `NAME` instead of running the command;
    * `--dir HOST::GUEST` - make the host directory `HOST` visible to the guest as `GUEST`
      (`--dir PATH` uses the same path for both); may be repeated;
    * `--env K=V` - set an environment variable (`--env K` passes the task's own `K`); may be
      repeated;
    * `--timeout MS` - stop the guest after `MS` milliseconds (default: no limit);
    * `--fuel N` - give the guest `N` units of fuel (run on a fuel-metered engine);
    * `--compiler winch` - compile with Winch, wasmtime's baseline compiler: a faster compile,
      slower code (`Wasmex.EngineConfig.compiler/2`; `--compiler cranelift` is the default).

  A guest that traps, times out or runs out of fuel ends the task with an error message and exit
  code 1. See `Wasmex.Command` for running commands from code.

  Compiled code is cached on disk (`Wasmex.Cache`; in `Wasmex.Cache.default_dir/0` unless
  `config :wasmex, cache_dir: ...` says otherwise), so the second run of a large component
  starts at once.
  """

  use Mix.Task

  alias Wasmex.Command
  alias Wasmex.Command.{Invoke, Result}

  # Output is kept in memory until the guest ends; the task keeps up to 1 GiB per stream.
  @max_output 1024 * 1024 * 1024

  @switches [
    invoke: :string,
    dir: :keep,
    env: :keep,
    timeout: :integer,
    fuel: :integer,
    compiler: :string
  ]

  @impl Mix.Task
  def run(argv) do
    {opts, rest} = OptionParser.parse_head!(argv, strict: @switches)

    [file | args] =
      case rest do
        [_ | _] -> rest
        [] -> Mix.raise("usage: mix wasmex.run [OPTIONS] FILE [ARGS...]")
      end

    Mix.Task.run("app.config")
    Wasmex.Cache.enable()
    bytes = read!(file)

    command_opts = [
      program: Path.basename(file),
      env: Enum.map(Keyword.get_values(opts, :env), &env!/1),
      preopen: Enum.map(Keyword.get_values(opts, :dir), &dir!/1),
      timeout: Keyword.get(opts, :timeout, :infinity),
      fuel: opts[:fuel],
      engine: Mix.Wasmex.CompilerFlag.engine(opts[:compiler], opts[:fuel] != nil),
      max_output: @max_output
    ]

    case opts[:invoke] do
      nil -> command(bytes, args, command_opts)
      name -> invoke(bytes, name, args, command_opts)
    end
  end

  defp command(bytes, args, opts) do
    stdin = raw(:standard_io, fn -> IO.binread(:stdio, :eof) end)
    stdin = if is_binary(stdin), do: stdin, else: ""

    case Command.run(bytes, [stdin: stdin, args: args] ++ opts) do
      {:ok, %Result{exit_code: code} = result} ->
        write(result.stdout, result.stderr)
        if code != 0, do: exit({:shutdown, code})
        :ok

      {:error, reason} ->
        Mix.raise(format(reason))
    end
  end

  defp invoke(bytes, name, args, opts) do
    case Invoke.call(bytes, name, args, opts) do
      {:ok, lines, stdout, stderr} ->
        write(stdout, stderr)
        Enum.each(lines, &IO.puts/1)

      {:error, {:exit, code}} ->
        exit({:shutdown, code})

      {:error, reason} ->
        Mix.raise(format(reason))
    end
  end

  defp read!(file) do
    case File.read(file) do
      {:ok, bytes} -> bytes
      {:error, reason} -> Mix.raise("cannot read #{file}: #{:file.format_error(reason)}")
    end
  end

  defp env!(spec) do
    case String.split(spec, "=", parts: 2) do
      [key, value] -> {key, value}
      [key] -> {key, System.get_env(key) || Mix.raise("--env #{key}: not set in this shell")}
    end
  end

  defp dir!(spec) do
    case String.split(spec, "::", parts: 2) do
      [host, guest] -> {host, guest}
      [path] -> {path, path}
    end
  end

  defp write(stdout, stderr) do
    raw(:standard_io, fn -> IO.binwrite(:stdio, stdout) end)
    raw(:standard_error, fn -> IO.binwrite(:stderr, stderr) end)
  end

  # Bytes in and out unchanged: a unicode device would re-encode bytes 128-255.
  defp raw(device, fun) do
    old = :io.getopts(device)[:encoding] || :unicode
    :ok = :io.setopts(device, encoding: :latin1)

    try do
      fun.()
    after
      :io.setopts(device, encoding: old)
    end
  end

  defp format(:timeout), do: "the guest ran past its --timeout and was stopped"
  defp format(:fuel_exhausted), do: "the guest ran out of --fuel"
  defp format({:max_output, _result}), do: "the guest wrote more output than can be kept"
  defp format({kind, text}) when is_binary(text), do: "#{kind}: #{text}"
  defp format(other), do: inspect(other)
end
