defmodule Wasmex.Command.Options do
  @moduledoc false
  # Checks the options of `Wasmex.Command.run/2` and `Wasmex.Command.prepare/2` once, so the
  # runners can trust them. Programmer errors raise ArgumentError naming the option.

  alias Wasmex.{Engine, EngineConfig, StoreLimits}
  alias Wasmex.Wasi.PreopenOptions

  @defaults [
    stdin: "",
    args: [],
    program: "command",
    env: %{},
    preopen: [],
    timeout: 5_000,
    fuel: nil,
    store_limits: nil,
    max_output: 16 * 1024 * 1024,
    engine: nil
  ]

  @type t :: %{
          stdin: binary(),
          args: [binary()],
          program: binary(),
          env: %{optional(binary()) => binary()},
          preopen: [PreopenOptions.t()],
          timeout: timeout(),
          fuel: non_neg_integer() | nil,
          store_limits: StoreLimits.t() | nil,
          max_output: non_neg_integer(),
          engine: Engine.t() | nil
        }

  @doc false
  @spec defaults() :: keyword()
  def defaults, do: @defaults

  @doc false
  @spec validate!(keyword()) :: t()
  def validate!(opts) when is_list(opts) do
    opts = opts |> Keyword.validate!(@defaults) |> Map.new()

    %{
      opts
      | stdin: check!(:stdin, opts.stdin, &is_binary/1),
        args: Enum.map(list!(:args, opts.args), &string!(:args, &1)),
        program: string!(:program, opts.program),
        env: env!(opts.env),
        preopen: Enum.map(list!(:preopen, opts.preopen), &preopen!/1),
        timeout: check!(:timeout, opts.timeout, &timeout?/1),
        fuel: check!(:fuel, opts.fuel, &(is_nil(&1) or (is_integer(&1) and &1 >= 0))),
        store_limits: check!(:store_limits, opts.store_limits, &limits?/1),
        max_output: check!(:max_output, opts.max_output, &(is_integer(&1) and &1 >= 0)),
        engine: engine(opts)
    }
  end

  def validate!(other) do
    raise ArgumentError, "options must be a keyword list, got: #{inspect(other)}"
  end

  # With `:fuel` and no `:engine`, commands run on one shared fuel-metered engine.
  defp engine(%{engine: %Engine{} = engine}), do: engine
  defp engine(%{engine: nil, fuel: nil}), do: nil
  defp engine(%{engine: nil}), do: fuel_engine()
  defp engine(%{engine: other}), do: bad!(:engine, other)

  @doc false
  # The engine used for `:fuel` without an `:engine`: created once, kept in :persistent_term.
  @spec fuel_engine() :: Engine.t()
  def fuel_engine do
    case :persistent_term.get({__MODULE__, :fuel_engine}, nil) do
      %Engine{} = engine ->
        engine

      nil ->
        {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
        :persistent_term.put({__MODULE__, :fuel_engine}, engine)
        engine
    end
  end

  defp timeout?(:infinity), do: true
  defp timeout?(ms), do: is_integer(ms) and ms >= 0

  defp limits?(limits), do: is_nil(limits) or is_struct(limits, StoreLimits)

  defp env!(env) when is_map(env) or is_list(env) do
    Map.new(env, fn
      {k, v} when (is_binary(k) or is_atom(k)) and is_binary(v) -> {to_string(k), v}
      other -> bad!(:env, other)
    end)
  end

  defp env!(other), do: bad!(:env, other)

  # A preopen is a `%PreopenOptions{}`, a host path, or `{host_path, guest_path}`.
  defp preopen!(%PreopenOptions{} = p), do: p
  defp preopen!(path) when is_binary(path), do: %PreopenOptions{path: path}

  defp preopen!({host, guest}) when is_binary(host) and is_binary(guest),
    do: %PreopenOptions{path: host, alias: guest}

  defp preopen!(other), do: bad!(:preopen, other)

  defp list!(_name, list) when is_list(list), do: list
  defp list!(name, other), do: bad!(name, other)

  defp string!(_name, value) when is_binary(value), do: value
  defp string!(name, other), do: bad!(name, other)

  defp check!(name, value, ok?), do: if(ok?.(value), do: value, else: bad!(name, value))

  defp bad!(name, value) do
    raise ArgumentError, "invalid value for #{inspect(name)} option: #{inspect(value)}"
  end
end
