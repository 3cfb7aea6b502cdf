defmodule Wasmex.Pool.Options do
  @moduledoc false
  # Splits and checks the options of `Wasmex.Pool.start_link/1` and
  # `Wasmex.Components.Pool.start_link/1`: the pool's own keys (checked here) and the member
  # options (everything the single server takes, checked by the pool kind).

  @pool_keys [:name, :size, :fresh, :max_waiting, :distributed, :spill, :watch]
  @gen_server_keys [:debug, :spawn_opt, :hibernate_after]

  @type pool :: %{
          name: atom(),
          size: pos_integer(),
          fresh: boolean(),
          max_waiting: non_neg_integer(),
          distributed: boolean(),
          spill: boolean(),
          watch: binary() | nil
        }

  @doc false
  # `{pool, member_opts}`; member options come back as a keyword list.
  @spec split(keyword() | map()) :: {pool(), keyword()}
  def split(opts) when is_map(opts), do: split(Map.to_list(opts))

  def split(opts) when is_list(opts) do
    unless Keyword.keyword?(opts) do
      raise ArgumentError, "pool options must be a keyword list or a map, got: #{inspect(opts)}"
    end

    {own, member} = Keyword.split(opts, @pool_keys)
    size = Keyword.get(own, :size, System.schedulers_online())
    check!(:size, size, is_integer(size) and size > 0, "a positive integer")

    own =
      Keyword.validate!(own,
        name: nil,
        size: size,
        fresh: false,
        max_waiting: 10 * size,
        distributed: false,
        spill: false,
        watch: false
      )

    name = own[:name]
    check!(:name, name, is_atom(name) and name not in [nil, true, false], "an atom")

    for key <- [:fresh, :distributed, :spill],
        do: check!(key, own[key], is_boolean(own[key]), "a boolean")

    waiting = own[:max_waiting]
    check!(:max_waiting, waiting, is_integer(waiting) and waiting >= 0, "a non-negative integer")

    watch = watch!(own[:watch], member[:path])
    {own |> Map.new() |> Map.put(:watch, watch), Keyword.drop(member, @gen_server_keys)}
  end

  @doc false
  # Checks a `watch:` option (pools, `Wasmex.Components.start_link/1`) and returns the path to
  # watch: the `:path` option for `true`, `nil` for `false`.
  @spec watch!(term(), term()) :: binary() | nil
  def watch!(watch, path) do
    check!(:watch, watch, is_boolean(watch), "a boolean")

    if watch do
      check!(:watch, watch, is_binary(path), "used with a :path (none given)")
      path
    end
  end

  @doc false
  # Checks the options of `reload/2`: `:bytes` or `:path`, optionally `:imports`.
  @spec reload!(keyword() | map()) :: keyword()
  def reload!(opts) when is_map(opts), do: reload!(Map.to_list(opts))

  def reload!(opts) when is_list(opts) do
    opts = Keyword.validate!(opts, [:bytes, :path, :imports])

    unless is_binary(opts[:bytes]) != is_binary(opts[:path]) and
             (is_nil(opts[:bytes]) or is_nil(opts[:path])) do
      raise ArgumentError,
            "reload needs exactly one of :bytes or :path (a binary), got: #{inspect(opts)}"
    end

    imports = Keyword.get(opts, :imports, %{})
    check!(:imports, imports, is_map(imports), "a map")
    opts
  end

  @doc false
  # The new code of checked `reload!/1` options: the `:bytes`, or the `:path` file's contents.
  @spec reload_code(keyword()) :: {:ok, binary()} | {:error, File.posix()}
  def reload_code(opts) do
    case opts[:bytes] do
      nil -> File.read(opts[:path])
      bytes -> {:ok, bytes}
    end
  end

  @doc false
  @spec check!(atom(), term(), boolean(), binary()) :: :ok
  def check!(_key, _value, true, _what), do: :ok

  def check!(key, value, false, what),
    do: raise(ArgumentError, "option #{inspect(key)} must be #{what}, got: #{inspect(value)}")
end
