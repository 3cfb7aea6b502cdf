defmodule Wasmex.Wasi.WasiP2Options do
  @moduledoc ~S"""
  Configuration of a WASI Preview 2 context for components.

      iex> %Wasmex.Wasi.WasiP2Options{args: ["prog"]}.inherit_stdout
      true
  """

  @type t :: %__MODULE__{
          inherit_stdin: boolean(),
          inherit_stdout: boolean(),
          inherit_stderr: boolean(),
          allow_http: boolean(),
          args: [binary()],
          env: %{optional(binary()) => binary()}
        }

  defstruct inherit_stdin: true,
            inherit_stdout: true,
            inherit_stderr: true,
            allow_http: false,
            args: [],
            env: %{}
end
