defmodule Wasmex.Wasi.PreopenOptions do
  @moduledoc ~S"""
  A host directory made visible to a WASI guest, under `alias` (defaults to `path`).

  The guest gets read and write access to the directory and everything below it, nothing above.

      iex> %Wasmex.Wasi.PreopenOptions{path: "/tmp/sandbox", alias: "/sandbox"}.alias
      "/sandbox"
  """

  @type t :: %__MODULE__{path: binary(), alias: binary() | nil}

  @enforce_keys [:path]
  defstruct [:path, alias: nil]
end
