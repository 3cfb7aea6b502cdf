defmodule Mix.Tasks.Wasmex.Wit do
  @shortdoc "Prints a component's world as WIT"

  @moduledoc ~S"""
  Prints the world of a component (a `.wasm` binary or component `.wat` text) as WIT text, like
  `wasm-tools component wit`:

      mix wasmex.wit FILE

  The output starts with the package holding the component's world (what it imports and
  exports), followed by every package it uses, nested (`package wasi:cli@0.2.6 { ... }`).

      $ mix wasmex.wit test/fixtures/components/json_command.wasm
      package root:component;

      world root {
        import wasi:cli/environment@0.2.6;
        ...
        export wasi:cli/run@0.2.0;
      }
      ...

  A core module or a file that is not WebAssembly ends the task with an error.
  """

  use Mix.Task

  @impl Mix.Task
  def run(argv) do
    case OptionParser.parse!(argv, strict: []) do
      {[], [file]} -> print(file)
      _ -> Mix.raise("usage: mix wasmex.wit FILE")
    end
  end

  defp print(file) do
    Mix.Task.run("app.config")

    bytes =
      case File.read(file) do
        {:ok, bytes} -> bytes
        {:error, reason} -> Mix.raise("cannot read #{file}: #{:file.format_error(reason)}")
      end

    unless Wasmex.Command.component?(bytes) do
      Mix.raise("#{file} is not a component (WIT describes components only)")
    end

    case Wasmex.Native.component_wit(bytes) do
      {:ok, text} -> IO.write(text)
      {:error, reason} -> Mix.raise("cannot read the WIT of #{file}: #{reason}")
    end
  end
end
