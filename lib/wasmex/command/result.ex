defmodule Wasmex.Command.Result do
  @moduledoc ~S"""
  What a finished WASI command left behind: its exit code and everything it wrote to stdout and
  stderr (binaries, byte for byte).

  A command that returns from its entry point normally exits with code 0; `exit(3)` in the guest
  gives `exit_code: 3`. A component's `wasi:cli/run` that returns `err` exits with code 1 (WASI
  Preview 2 only knows success and failure).

      iex> %Wasmex.Command.Result{exit_code: 0, stdout: "hi", stderr: ""}.stdout
      "hi"
  """

  @type t :: %__MODULE__{
          exit_code: non_neg_integer(),
          stdout: binary(),
          stderr: binary()
        }

  @enforce_keys [:exit_code]
  defstruct exit_code: 0, stdout: "", stderr: ""
end
