defmodule Wasmex.Command.Stdio do
  @moduledoc false
  # The stdio of one command run: a stdin pipe holding the request and two empty pipes for
  # stdout and stderr; after the run, their contents checked against `:max_output`.

  alias Wasmex.Command.Result
  alias Wasmex.Pipe

  @type t :: %{stdin: Pipe.t(), stdout: Pipe.t(), stderr: Pipe.t()}

  @doc false
  @spec open(binary()) :: {:ok, t()} | {:error, term()}
  def open(stdin) do
    with {:ok, input} <- Pipe.new(),
         {:ok, _} <- write(input, stdin),
         :ok <- Pipe.seek(input, 0),
         {:ok, stdout} <- Pipe.new(),
         {:ok, stderr} <- Pipe.new() do
      {:ok, %{stdin: input, stdout: stdout, stderr: stderr}}
    end
  end

  defp write(_pipe, ""), do: {:ok, 0}

  defp write(pipe, bytes) do
    case Pipe.write(pipe, bytes) do
      {:ok, n} -> {:ok, n}
      :error -> {:error, {:stdin, "could not write stdin"}}
    end
  end

  @doc false
  # The WASI options of a run (`Wasmex.Wasi.WasiOptions` or `WasiP2Options`): its argv, env,
  # preopens and these pipes, plus `extra` fields.
  @spec wasi(module(), map(), t(), keyword()) :: struct()
  def wasi(options_module, opts, io, extra \\ []) do
    struct!(
      options_module,
      [
        args: [opts.program | opts.args],
        env: opts.env,
        preopen: opts.preopen,
        stdin: io.stdin,
        stdout: io.stdout,
        stderr: io.stderr
      ] ++ extra
    )
  end

  @doc false
  # The result of a run that exited with `code`: `{:ok, result}`, or
  # `{:error, {:max_output, result}}` with each stream cut to `max` bytes when one was longer.
  @spec result(t(), non_neg_integer(), non_neg_integer()) ::
          {:ok, Result.t()} | {:error, {:max_output, Result.t()}}
  def result(io, code, max) do
    {stdout, out_over?} = collect(io.stdout, max)
    {stderr, err_over?} = collect(io.stderr, max)
    result = %Result{exit_code: code, stdout: stdout, stderr: stderr}
    if out_over? or err_over?, do: {:error, {:max_output, result}}, else: {:ok, result}
  end

  defp collect(pipe, max) do
    case Pipe.size(pipe) do
      0 ->
        {"", false}

      size ->
        :ok = Pipe.seek(pipe, 0)
        bytes = Pipe.read(pipe)

        if size > max,
          do: {:binary.copy(binary_part(bytes, 0, max)), true},
          else: {bytes, false}
    end
  end
end
