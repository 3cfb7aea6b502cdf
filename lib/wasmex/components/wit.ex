defmodule Wasmex.Components.Wit do
  @moduledoc false
  # What the component macros and the two Discovery modules read from WIT, and the compile-time
  # checks the three `use` macros share:
  #   * `list/3` and `pick/3`: resource descriptions (the NIF's, with Elixir names added);
  #   * `exported_functions!/3`: the world functions `use ComponentServer` wraps;
  #   * `checked!/4`, `check_names!/3`, `compile_error!/2`: CompileErrors with file and line.
  # Every WIT NIF call of the Elixir layer is here.

  alias Wasmex.Native

  # One description for both Discovery modules: imported resources (HostResource) keep each
  # function's `canonical_name`; exported ones (GuestResource) drop it and carry the
  # `constructor_path` instead.
  @type function_info :: %{
          required(:wit_name) => binary(),
          optional(:canonical_name) => binary(),
          required(:elixir_name) => binary(),
          required(:kind) => :constructor | :method | :async_method | :static | :async_static,
          required(:arity) => non_neg_integer(),
          required(:has_return) => boolean()
        }
  @type info :: %{
          required(:name) => binary(),
          required(:interface) => binary(),
          required(:interface_path) => [binary()],
          optional(:constructor_path) => [binary()],
          required(:functions) => [function_info()]
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

  # 0.15.1's `elixir_name`: the WIT name with `-` turned into `_`, "constructor" for a
  # constructor (a string; the `use` macros turn it into their function's atom, `function_name/1`).
  defp with_elixir_names(info) do
    functions =
      Enum.map(info.functions, fn f ->
        name = if f.kind == :constructor, do: "constructor", else: f.wit_name
        Map.put(f, :elixir_name, String.replace(name, "-", "_"))
      end)

    %{info | functions: functions}
  end

  @doc false
  # The name of the function a `use` macro generates (or expects) for a resource function:
  # `:new` for the constructor, else the `elixir_name` as an atom.
  @spec function_name(function_info()) :: atom()
  def function_name(%{kind: :constructor}), do: :new
  def function_name(%{elixir_name: name}), do: String.to_atom(name)

  @doc false
  # The resource `name` (in `interface`, the interface's name or the name it is imported or
  # exported under, when given). Several matches are `{:ambiguous, name}`: each Discovery module
  # words that error for its side.
  # `name` may be an atom (as 0.15.1 allowed).
  @spec pick([info()], binary() | atom(), binary() | nil) ::
          {:ok, info()} | {:error, :not_found | {:ambiguous, binary()}}
  def pick(infos, name, interface) do
    name = to_string(name)

    infos
    |> Enum.filter(&(&1.name == name))
    |> Enum.filter(&(interface == nil or interface in [&1.interface | &1.interface_path]))
    |> case do
      [] -> {:error, :not_found}
      [info] -> {:ok, info}
      _ -> {:error, {:ambiguous, name}}
    end
  end

  @doc false
  # The exported world functions of a WIT file (`{:wit, path}`, with `world` picking one of
  # several) or of a component binary (`{:component, path}`), as `{wit_name, arity}`, for a
  # `use` macro: a CompileError naming the file when they cannot be read.
  @spec exported_functions!({:wit | :component, Path.t()}, binary() | nil, Macro.Env.t()) ::
          [{binary(), non_neg_integer()}]
  def exported_functions!(source, world, env) do
    {path, result} =
      case source do
        {:wit, path} -> {path, Native.wit_exported_functions(path, File.read!(path), world)}
        {:component, path} -> {path, Native.component_exported_functions(File.read!(path), nil)}
      end

    case result do
      {:ok, functions} -> functions
      {:error, reason} -> compile_error!(env, "#{path}: #{reason}")
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
    |> Enum.group_by(&function_name/1)
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
