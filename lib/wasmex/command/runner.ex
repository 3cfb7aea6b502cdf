defmodule Wasmex.Command.Runner do
  @moduledoc false
  # What `Wasmex.Command` asks of the runner of one kind of wasm: `Wasmex.Command.Core` (a core
  # module's `_start`, WASI Preview 1) and `Wasmex.Command.Component` (`wasi:cli/run`, WASI
  # Preview 2). Both set up their runs with `Wasmex.Command.Setup`.

  alias Wasmex.Command.{Options, Stdio}

  @doc "Compiles `bytes` once, for many runs, with the engine `opts` select."
  @callback prepare(bytes :: binary(), opts :: Options.t()) ::
              {:ok, struct()} | {:error, {:compile | :setup, binary()}}

  @doc """
  Runs `wasm` (bytes or code `prepare/2` returned) in a fresh store on `io`, within `deadline`
  (monotonic milliseconds, `nil` for none): the exit code, or why there is none.
  """
  @callback run(
              wasm :: binary() | struct(),
              opts :: Options.t(),
              io :: Stdio.t(),
              deadline :: integer() | nil
            ) ::
              {:exit, non_neg_integer()} | {:error, term()}
end
