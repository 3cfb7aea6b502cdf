defmodule Wasmex.Pool.Kind do
  @moduledoc false
  # What a pool needs to know about the code it runs: core modules (`Wasmex.Pool.Core`) or
  # components (`Wasmex.Pool.Component`). A recipe holds what is prepared once and shared by all
  # members (the compiled module or component, imports, how to make a store); a member is one
  # store with one instance. Every callback runs in the calling process. A recipe's `:log` says
  # whether its stores were made with `log_output: true`; a member's `:output` is then its store
  # resource (else `nil`), whose lines the member logs after each call (`Wasmex.GuestOutput`).

  @type recipe :: %{required(:id) => reference(), optional(atom()) => term()}
  @type member :: %{
          required(:recipe_id) => reference(),
          required(:output) => reference() | nil,
          optional(atom()) => term()
        }

  # Compiles the code of the member options (the single server's options).
  @callback prepare(keyword()) :: {:ok, recipe()} | {:error, term()}
  # Compiles code (the recipe's `:code`) with the engine of `store`, as `recipe`'s was compiled.
  @callback compile(term(), binary(), recipe()) :: {:ok, term()} | {:error, term()}
  # A new store with a new instance.
  @callback build(recipe()) :: {:ok, member()} | {:error, term()}
  # The same for a member of a `fresh: true` pool, which serves one call. A member that has
  # `collect: true` asks its process to collect its garbage once the call is served.
  @callback build_fresh(recipe()) :: {:ok, member()} | {:error, term()}
  # Runs one call; `:replace` when the member must not serve again (trap, timeout, ...).
  @callback run(member(), term(), list(), timeout() | nil) :: {term(), :keep | :replace}

  @doc false
  # A recipe: what every kind keeps, plus `extra`.
  @spec recipe((() -> {:ok, term()} | {:error, term()}), term(), keyword(), map()) :: recipe()
  def recipe(new_store, code, opts, extra \\ %{}) do
    Map.merge(extra, %{
      id: make_ref(),
      new_store: new_store,
      code: code,
      imports: Keyword.get(opts, :imports, %{}),
      timeout: Keyword.get(opts, :timeout, 5000)
    })
  end

  @doc false
  # A recipe for new code, made like `recipe` (new `imports` unless `nil`).
  @spec reprepare(module(), recipe(), binary(), map() | nil) :: {:ok, recipe()} | {:error, term()}
  def reprepare(kind, recipe, bytes, imports) do
    with {:ok, store} <- recipe.new_store.(),
         {:ok, code} <- kind.compile(store, bytes, recipe) do
      {:ok, %{recipe | id: make_ref(), code: code, imports: imports || recipe.imports}}
    end
  end

  @doc false
  # The code's bytes from `:bytes` or `:path`.
  @spec bytes(keyword()) :: {:ok, binary()} | :none
  def bytes(opts) do
    cond do
      is_binary(opts[:bytes]) -> {:ok, opts[:bytes]}
      is_binary(opts[:path]) -> {:ok, File.read!(opts[:path])}
      true -> :none
    end
  end
end
