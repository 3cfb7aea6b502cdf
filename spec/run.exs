# Runs the WebAssembly core specification tests through Wasmex's public API and prints passed /
# failed / unrepresentable per script and in total. Not part of `mix test` (it takes minutes).
#
#   mix run spec/run.exs [--suite DIR] [--only f32,i32] [--failures N]
#
# DIR defaults to ../shared/wasm-testsuite (next to the repository). Each script is converted with
# `wasm-tools json-from-wast` into _build/spec/<script>/; wasm-tools is installed into
# ~/.cargo/bin with `cargo install` when it is missing. Every module runs in its own `Wasmex`
# server on an engine with `memory64: true`; a crash or an exit counts as a failure.
# "Unrepresentable" commands use values the API cannot express (references, NaN payloads as
# arguments) or share globals, memories or tables between instances (the API links modules, not
# instances), or are commands such as threads that have no public API.

for file <- ~w(json.ex values.ex linking.ex instances.ex runner.ex),
    do: Code.require_file(Path.join([__DIR__, "support", file]))

defmodule Wasmex.Spec.Main do
  @moduledoc false
  @wasm_tools_version "1.263.0"

  def main(argv) do
    {opts, _, _} =
      OptionParser.parse(argv, strict: [suite: :string, only: :string, failures: :integer])

    suite = opts[:suite] || Path.expand("../../shared/wasm-testsuite", __DIR__)
    only = if opts[:only], do: String.split(opts[:only], ","), else: nil
    shown = opts[:failures] || 5
    tool = wasm_tools!()
    Process.flag(:trap_exit, true)
    Logger.configure(level: :error)
    {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{memory64: true})

    scripts =
      suite
      |> Path.join("*.wast")
      |> Path.wildcard()
      |> Enum.filter(&(only == nil or Path.basename(&1, ".wast") in only))

    started = System.monotonic_time(:millisecond)

    {p, f, u, reasons} =
      Enum.reduce(scripts, {0, 0, 0, %{}}, fn wast, {tp, tf, tu, tr} ->
        name = Path.basename(wast, ".wast")
        {p, f, u, failures, reasons} = run_script(tool, wast, name, engine)

        IO.puts(
          String.pad_trailing(name, 36) <> " passed #{p}  failed #{f}  unrepresentable #{u}"
        )

        for {line, type, why} <- Enum.take(failures, shown),
            do: IO.puts("    #{name}.wast:#{line} #{type}: #{why}")

        {tp + p, tf + f, tu + u, Map.merge(tr, reasons, fn _, a, b -> a + b end)}
      end)

    seconds = div(System.monotonic_time(:millisecond) - started, 1000)

    IO.puts(
      "\nTOTAL (#{length(scripts)} scripts, #{seconds} s): passed #{p}  failed #{f}  unrepresentable #{u}"
    )

    for {reason, n} <- Enum.sort_by(reasons, &(-elem(&1, 1))),
        do: IO.puts("  unrepresentable, #{inspect(reason)}: #{n}")
  end

  defp run_script(tool, wast, name, engine) do
    dir = Path.join([Mix.Project.build_path(), "..", "spec", name]) |> Path.expand()
    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    json = Path.join(dir, name <> ".json")

    case System.cmd(tool, ["json-from-wast", wast, "-o", json, "--wasm-dir", dir],
           stderr_to_stdout: true
         ) do
      {_, 0} -> Wasmex.Spec.Runner.run(json, dir, engine)
      {out, _} -> {0, 1, 0, [{0, "json-from-wast", String.slice(out, 0, 300)}], %{}}
    end
  end

  defp wasm_tools! do
    cargo_bin = Path.expand("~/.cargo/bin/wasm-tools")

    cond do
      path = System.find_executable("wasm-tools") ->
        path

      File.exists?(cargo_bin) ->
        cargo_bin

      true ->
        IO.puts("wasm-tools not found: installing it with cargo (a few minutes)")

        args =
          ~w(install wasm-tools --version #{@wasm_tools_version} --locked --no-default-features --features json-from-wast)

        {_, 0} = System.cmd("cargo", args, into: IO.stream(:stdio, :line), stderr_to_stdout: true)
        cargo_bin
    end
  end
end

Wasmex.Spec.Main.main(System.argv())
