defmodule Wasmex.Wasi.WasiOptions do
  @moduledoc ~S"""
  Configuration of a WASI Preview 1 context (`Wasmex.Store.new_wasi/3`,
  `Wasmex.start_link(%{wasi: ...})`).

  Stdio not given is empty (stdin) or discarded (stdout, stderr); pass `Wasmex.Pipe`s to feed or
  capture it. What the guest writes to stderr without a pipe is kept while a call runs (the last
  4 KiB): a call that traps carries it in its error, after the trap text (`"...\nguest
  stderr:\n<text>"`).

  `log_output: true` (default `false`) sends each line the guest writes to stdout or stderr
  (where no pipe is given) to `Logger`, from a `Wasmex` server or a `Wasmex.Pool` member after
  each call, at level `:info` (stdout) or `:warning` (stderr), with metadata
  `wasm_stream: :stdout | :stderr`, `wasm_server` (the server's or member's name, else its pid),
  `wasm_function` (the export called) and, from a pool member, `wasm_pool` (the pool's name).
  A store made with it logs wherever it serves: given as `:store` to `Wasmex.start_link/1` or as
  a pool's store template too. At most 64 KiB of lines wait between two calls; older ones are
  dropped.

      iex> {:ok, store} = Wasmex.Store.new_wasi(%Wasmex.Wasi.WasiOptions{log_output: true})
      iex> {:ok, pid} = Wasmex.start_link(%{bytes: "(module (func (export \"f\")))", store: store})
      iex> Wasmex.call_function(pid, "f", [])
      {:ok, []}

      iex> {:ok, stdout} = Wasmex.Pipe.new()
      iex> %Wasmex.Wasi.WasiOptions{args: ["prog"], env: %{"A" => "1"}, stdout: stdout}.args
      ["prog"]
  """

  alias Wasmex.Pipe
  alias Wasmex.Wasi.PreopenOptions

  @type t :: %__MODULE__{
          args: [binary()],
          env: %{optional(binary()) => binary()},
          preopen: [PreopenOptions.t()],
          stdin: Pipe.t() | nil,
          stdout: Pipe.t() | nil,
          stderr: Pipe.t() | nil,
          log_output: boolean()
        }

  # The fields WASI P1 and P2 options share, with their defaults.
  @common [
    args: [],
    env: %{},
    preopen: [],
    stdin: nil,
    stdout: nil,
    stderr: nil,
    log_output: false
  ]

  defstruct @common

  @doc false
  @spec common_fields() :: keyword()
  def common_fields, do: @common

  @doc false
  @spec normalize(t()) :: t()
  def normalize(%__MODULE__{} = options), do: normalize_common(options)

  @doc false
  # Checks and normalizes the fields WASI P1 and P2 options share: args, env, preopen.
  @spec normalize_common(map()) :: map()
  def normalize_common(%{args: args, env: env, preopen: preopen} = options) do
    %{
      options
      | args: Enum.map(list!(args, :args), &to_string/1),
        env: Map.new(env, fn {k, v} -> {to_string(k), to_string(v)} end),
        preopen: Enum.map(list!(preopen, :preopen), &preopen!/1)
    }
  end

  defp list!(value, field) do
    if proper_list?(value),
      do: value,
      else: raise(ArgumentError, "#{field} must be a list, got: #{inspect(value)}")
  end

  defp proper_list?([_ | rest]), do: proper_list?(rest)
  defp proper_list?(rest), do: rest == []

  defp preopen!(%PreopenOptions{} = p), do: p

  defp preopen!(other) do
    raise ArgumentError,
          "preopen entries must be %Wasmex.Wasi.PreopenOptions{}, got: #{inspect(other)}"
  end
end
