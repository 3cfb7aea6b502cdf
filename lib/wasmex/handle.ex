defmodule Wasmex.Handle do
  @moduledoc false
  # The handle structs (`Wasmex.Engine`, `Module`, `Instance`, `StoreOrCaller`, `Memory`, `Pipe`,
  # `Components.Store`, `Components.Component`): a NIF resource and a reference that tells two
  # handles apart. The shape `%{resource: _, reference: make_ref()}` and the
  # `#Wasmex.X<#Reference<...>>` output are fixed by the 0.15.1 API; Wasmex 0.15.1 gives the two
  # component handles no Inspect implementation, so they print as plain structs.
  #
  #     defmodule Wasmex.Engine do
  #       use Wasmex.Handle                    # struct, @type t, wrap/1, Inspect
  #     end
  #
  #     use Wasmex.Handle, nullable: true      # `resource` may be nil (a memory-less Memory)
  #     use Wasmex.Handle, inspect: false      # no Inspect implementation

  @doc false
  defmacro __using__(opts) do
    opts = Keyword.validate!(opts, inspect: true, nullable: false)

    resource_type =
      if opts[:nullable], do: quote(do: reference() | nil), else: quote(do: reference())

    quote do
      @type t :: %__MODULE__{resource: unquote(resource_type), reference: reference()}

      defstruct [:resource, :reference]

      @doc false
      @spec wrap(unquote(resource_type)) :: t()
      def wrap(resource), do: %__MODULE__{resource: resource, reference: make_ref()}

      if unquote(opts[:inspect]) do
        defimpl Inspect do
          def inspect(handle, opts), do: Wasmex.Handle.inspect(handle, opts)
        end
      end
    end
  end

  @doc false
  # `#Wasmex.Engine<#Reference<0.1.2.3>>`: the module's name and the handle's reference.
  @spec inspect(struct(), Inspect.Opts.t()) :: Inspect.Algebra.t()
  def inspect(%module{reference: reference}, opts) do
    Inspect.Algebra.concat([
      "#",
      Kernel.inspect(module),
      "<",
      Inspect.Algebra.to_doc(reference, opts),
      ">"
    ])
  end
end
