defmodule Wasmex.Components.GuestResource.Codegen do
  @moduledoc false
  # The functions `use Wasmex.Components.GuestResource` generates, from the resource's WIT. The
  # options are evaluated in the module body (so `wit: @wit` works) and the functions are defined
  # there with unquote fragments.

  alias Wasmex.Components.{GuestResource, Wit}

  @doc false
  @spec build(keyword()) :: Macro.t()
  def build(opts) do
    opts = Keyword.validate!(opts, [:wit, :resource, :world, :interface])

    quote bind_quoted: [opts: opts] do
      resource = opts[:resource]
      info = Wasmex.Components.GuestResource.Codegen.info!(opts, __ENV__)
      path = info.constructor_path

      for f <- info.functions do
        args = Macro.generate_arguments(f.arity, __MODULE__)
        kind = f.kind
        wit_name = f.wit_name

        case kind do
          :constructor ->
            @doc "Creates a `#{resource}` (its WIT constructor). Options: `timeout:`."
            def new(instance_or_server, unquote_splicing(args), opts \\ []) do
              Wasmex.Components.GuestResource.new(
                instance_or_server,
                unquote(path),
                unquote(args),
                Wasmex.Components.GuestResource.Codegen.timeout!(opts)
              )
            end

          kind when kind in [:method, :async_method] ->
            @doc "Calls the method `#{wit_name}` of a `#{resource}`. Options: `timeout:`."
            def unquote(Wasmex.Components.Wit.function_name(f))(
                  resource,
                  unquote_splicing(args),
                  opts \\ []
                ) do
              Wasmex.Components.GuestResource.call(
                resource,
                unquote(kind),
                unquote(wit_name),
                unquote(args),
                Wasmex.Components.GuestResource.Codegen.timeout!(opts)
              )
            end

          kind ->
            @doc "Calls the static function `#{wit_name}` of `#{resource}`. Options: `timeout:`."
            def unquote(Wasmex.Components.Wit.function_name(f))(
                  instance_or_server,
                  unquote_splicing(args),
                  opts \\ []
                ) do
              Wasmex.Components.GuestResource.call_static(
                instance_or_server,
                unquote(path),
                unquote(kind),
                unquote(wit_name),
                unquote(args),
                Wasmex.Components.GuestResource.Codegen.timeout!(opts)
              )
            end
        end
      end

      @doc "Drops a `#{resource}` (see `Wasmex.Components.GuestResource.drop/2`)."
      @spec drop(Wasmex.Components.GuestResource.t(), keyword()) :: :ok | {:error, term()}
      def drop(resource, opts \\ []) do
        Wasmex.Components.GuestResource.drop(
          resource,
          Wasmex.Components.GuestResource.Codegen.timeout!(opts)
        )
      end
    end
  end

  @doc false
  # The resource's description, checked; raises CompileError or ArgumentError.
  @spec info!(keyword(), Macro.Env.t()) :: GuestResource.Discovery.info()
  def info!(opts, env) do
    wit = opts[:wit]

    unless is_binary(wit) do
      raise ArgumentError, ":wit must be WIT source text, got: #{inspect(wit)}"
    end

    resource = Wit.resource_name!(opts[:resource])

    found =
      with {:ok, infos} <- Wit.list({:wit, env.file, wit}, opts[:world], :exports) do
        GuestResource.Discovery.pick(infos, resource, opts[:interface])
      end

    reserved = %{drop: "`drop` drops the resource", new: "`new` calls the constructor"}

    found
    |> Wit.checked!("exported resource `#{resource}`", reserved, env)
    |> GuestResource.Discovery.shape()
  end

  @doc false
  @spec timeout!(keyword()) :: timeout()
  def timeout!(opts), do: Keyword.validate!(opts, timeout: 5000)[:timeout]
end
