defmodule Wasmex.Wasi.WasiP2Options do
  @moduledoc ~S"""
  Configuration of a WASI Preview 2 context for components.

  Beyond Wasmex 0.15.1: `preopen` (a list of `Wasmex.Wasi.PreopenOptions`) and `stdin`, `stdout`,
  `stderr` pipes (`Wasmex.Pipe`; a pipe given for a stream replaces inheriting it).

  What the guest writes to stderr without a pipe is also kept while a call runs (the last 4 KiB):
  a call that traps carries it in its error after the trap text (`"...\nguest stderr:\n<text>"`),
  so a JavaScript component's message reaches the caller. `inherit_stderr` still prints it.

  `log_output: true` (default `false`) sends the guest's stdout and stderr lines to `Logger`
  instead of the BEAM's streams, from a `Wasmex.Components` server or a
  `Wasmex.Components.Pool` member after each call, also when the store is given as `:store`
  (levels and metadata as in `Wasmex.Wasi.WasiOptions`).

      iex> %Wasmex.Wasi.WasiP2Options{args: ["prog"]}.inherit_stdout
      true
  """

  @type t :: %__MODULE__{
          inherit_stdin: boolean(),
          inherit_stdout: boolean(),
          inherit_stderr: boolean(),
          allow_http: boolean(),
          args: [binary()],
          env: %{optional(binary()) => binary()},
          preopen: [Wasmex.Wasi.PreopenOptions.t()],
          stdin: Wasmex.Pipe.t() | nil,
          stdout: Wasmex.Pipe.t() | nil,
          stderr: Wasmex.Pipe.t() | nil,
          log_output: boolean()
        }

  defstruct [inherit_stdin: true, inherit_stdout: true, inherit_stderr: true, allow_http: false] ++
              Wasmex.Wasi.WasiOptions.common_fields()

  @doc false
  @spec normalize(t()) :: t()
  def normalize(%__MODULE__{} = options), do: Wasmex.Wasi.WasiOptions.normalize_common(options)
end
