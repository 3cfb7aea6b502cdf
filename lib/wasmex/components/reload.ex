defmodule Wasmex.Components.Reload do
  @moduledoc false
  # The caller's half of `Wasmex.Components.reload/2`: reads and compiles the new code and
  # instantiates it in a fresh store made like the server's (same engine, limits, WASI options
  # and remaining fuel), in the calling process, so the server keeps serving while that runs.
  # The server only swaps the prepared instance in (`{:reload, prepared}`), between two calls.

  alias Wasmex.Components.{Component, Instance, Store}

  @typedoc "A new instance, its component and imports, ready to be swapped in."
  @type prepared :: %{instance: Instance.t(), component: Component.t(), imports: map()}

  @doc false
  # `base` is what the server answers to `:reload_base`: its instance, imports, timeout and
  # `:list_u8` (the new code is compiled with the server's).
  @spec prepare(keyword(), %{
          instance: Instance.t(),
          imports: map(),
          timeout: timeout(),
          list_u8: :list | :binary
        }) ::
          {:ok, prepared()} | {:error, term()}
  def prepare(opts, base) do
    imports = Keyword.get(opts, :imports) || base.imports

    with {:ok, bytes} <- Wasmex.Pool.Options.reload_code(opts),
         {:ok, store} <- base.instance.store_resource |> Store.wrap() |> Store.renew(),
         {:ok, component} <- compile(store, bytes, list_u8: base.list_u8),
         {:ok, instance} <- Instance.new(store, component, imports, base.timeout) do
      {:ok, %{instance: instance, component: component, imports: imports}}
    end
  end

  @doc false
  # `Component.new/2`, which raises for a WIT package (as in Wasmex 0.15.1), as an error.
  @spec compile(Store.t(), binary(), keyword()) :: {:ok, Component.t()} | {:error, term()}
  def compile(store, bytes, opts \\ []) do
    Component.new(store, bytes, opts)
  rescue
    e in ErlangError ->
      case e.original do
        :"Only components are supported" -> {:error, "Only components are supported"}
        _ -> reraise e, __STACKTRACE__
      end
  end
end
