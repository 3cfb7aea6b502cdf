defmodule Wasmex.Components.WitResources do
  @moduledoc false
  # Resource descriptions read from WIT (for the two Discovery modules and the `use` macros):
  # what the NIF reports, with Elixir names added, plus picking one resource by name and the
  # compile-time checks the macros share.

  alias Wasmex.Native

  @type function_info :: %{
          wit_name: binary(),
          canonical_name: binary(),
          elixir_name: atom(),
          kind: :constructor | :method | :async_method | :static | :async_static,
          arity: non_neg_integer(),
          has_return: boolean()
        }
  @type info :: %{
          name: binary(),
          interface: binary(),
          interface_path: [binary()],
          functions: [function_info()]
        }

  @doc false
  @spec list({:wit, binary(), binary()} | {:path, Path.t()}, binary() | nil, :imports | :exports) ::
          {:ok, [info()]} | {:error, binary()}
  def list(source, world, direction) do
    {label, wit, path} =
      case source do
        {:wit, label, wit} -> {label, wit, nil}
        {:path, path} -> {path, nil, Path.expand(path)}
      end

    case Native.wit_resources(label, wit, path, world, direction == :imports) do
      {:ok, infos} -> {:ok, Enum.map(infos, &with_elixir_names/1)}
      {:error, _} = error -> error
    end
  end

  defp with_elixir_names(info) do
    functions =
      Enum.map(info.functions, fn f ->
        name = if f.kind == :constructor, do: "new", else: f.wit_name
        Map.put(f, :elixir_name, name |> String.replace("-", "_") |> String.to_atom())
      end)

    %{info | functions: functions}
  end

  @doc false
  @spec pick([info()], binary(), binary() | nil) ::
          {:ok, info()} | {:error, :not_found | binary()}
  def pick(infos, name, interface) do
    infos
    |> Enum.filter(&(&1.name == name))
    |> Enum.filter(&(interface == nil or interface in [&1.interface | &1.interface_path]))
    |> case do
      [] -> {:error, :not_found}
      [info] -> {:ok, info}
      _ -> {:error, "Multiple resources are named `#{name}`; pass the :interface option"}
    end
  end

  @doc false
  @spec resource_name!(term()) :: binary()
  def resource_name!(name) when is_binary(name), do: name

  def resource_name!(other),
    do: raise(ArgumentError, ":resource must be a string, got: #{inspect(other)}")

  @doc false
  # The info of a lookup for a `use` macro: a CompileError when it failed (`what` names the
  # resource) or when its names are unusable (see `check_names!/3`).
  @spec checked!({:ok, info()} | {:error, :not_found | binary()}, binary(), map(), Macro.Env.t()) ::
          info()
  def checked!({:ok, info}, _what, reserved, env) do
    check_names!(info, reserved, env)
    info
  end

  def checked!({:error, :not_found}, what, _reserved, env),
    do: compile_error!(env, "#{what} not found")

  def checked!({:error, message}, _what, _reserved, env), do: compile_error!(env, message)

  @doc false
  # Raises a CompileError when two functions get the same Elixir name or one takes a reserved
  # name (`reserved` maps names to why they are reserved).
  @spec check_names!(info(), %{atom() => binary()}, Macro.Env.t()) :: :ok
  def check_names!(info, reserved, env) do
    info.functions
    |> Enum.group_by(& &1.elixir_name)
    |> Enum.each(fn
      {name, [_, _ | _] = clash} ->
        wit_names = Enum.map_join(clash, ", ", &"`#{label(&1)}`")
        compile_error!(env, "#{wit_names} all become the Elixir function `#{name}`")

      {name, [f]} ->
        why = f.kind != :constructor && Map.get(reserved, name)

        if why do
          compile_error!(
            env,
            "resource function `#{label(f)}` cannot be named `#{name}`: #{why}"
          )
        end
    end)
  end

  defp label(f), do: Map.get(f, :canonical_name, f.wit_name)

  @doc false
  @spec compile_error!(Macro.Env.t(), binary()) :: no_return()
  def compile_error!(env, description) do
    raise CompileError, file: env.file, line: env.line, description: description
  end
end
