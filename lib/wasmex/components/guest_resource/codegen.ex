defmodule Wasmex.Components.GuestResource.Codegen do
  @moduledoc false
  # The functions `use Wasmex.Components.GuestResource` generates, from the resource's WIT.

  alias Wasmex.Components.{GuestResource, WitResources}

  @doc false
  @spec build(keyword(), Macro.Env.t()) :: Macro.t()
  def build(opts, env) do
    opts = Keyword.validate!(opts, [:wit, :resource, :world])

    wit =
      case WitResources.eval!(opts[:wit], env) do
        wit when is_binary(wit) -> wit
        other -> raise ArgumentError, ":wit must be WIT source text, got: #{inspect(other)}"
      end

    name =
      case opts[:resource] do
        name when is_binary(name) -> name
        other -> raise ArgumentError, ":resource must be a string, got: #{inspect(other)}"
      end

    info =
      case GuestResource.Discovery.get_resource_from_wit(wit, name,
             world: opts[:world],
             path: env.file
           ) do
        {:ok, info} ->
          info

        {:error, :not_found} ->
          WitResources.compile_error!(env, "exported resource `#{name}` not found")

        {:error, message} ->
          WitResources.compile_error!(env, message)
      end

    reserved = %{drop: "`drop` drops the resource", new: "`new` calls the constructor"}
    WitResources.check_names!(info, reserved, env)

    functions = Enum.map(info.functions, &function(&1, info.constructor_path, name))

    quote do
      unquote_splicing(functions)

      @doc "Drops the `#{unquote(name)}` (see `Wasmex.Components.GuestResource.drop/2`)."
      @spec drop(GuestResource.t(), keyword()) :: :ok | {:error, term()}
      def drop(resource, opts \\ []) do
        GuestResource.drop(resource, Keyword.validate!(opts, timeout: 5000)[:timeout])
      end
    end
  end

  defp function(%{kind: :constructor} = f, path, name) do
    args = Macro.generate_arguments(f.arity, __MODULE__)

    quote do
      @doc "Creates a `#{unquote(name)}` (its WIT constructor). Options: `timeout:`."
      def new(instance_or_server, unquote_splicing(args), opts \\ []) do
        timeout = Keyword.validate!(opts, timeout: 5000)[:timeout]
        GuestResource.new(instance_or_server, unquote(path), unquote(args), timeout)
      end
    end
  end

  defp function(%{kind: kind} = f, _path, name) when kind in [:method, :async_method] do
    args = Macro.generate_arguments(f.arity, __MODULE__)

    quote do
      @doc "Calls the method `#{unquote(f.wit_name)}` of a `#{unquote(name)}`. Options: `timeout:`."
      def unquote(f.elixir_name)(resource, unquote_splicing(args), opts \\ []) do
        timeout = Keyword.validate!(opts, timeout: 5000)[:timeout]
        GuestResource.call(resource, unquote(kind), unquote(f.wit_name), unquote(args), timeout)
      end
    end
  end

  defp function(%{kind: kind} = f, path, name) do
    args = Macro.generate_arguments(f.arity, __MODULE__)

    quote do
      @doc "Calls the static function `#{unquote(f.wit_name)}` of `#{unquote(name)}`. Options: `timeout:`."
      def unquote(f.elixir_name)(instance_or_server, unquote_splicing(args), opts \\ []) do
        timeout = Keyword.validate!(opts, timeout: 5000)[:timeout]

        GuestResource.call_static(
          instance_or_server,
          unquote(path),
          unquote(kind),
          unquote(f.wit_name),
          unquote(args),
          timeout
        )
      end
    end
  end
end
