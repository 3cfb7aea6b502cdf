defmodule Wasmex.Components.FieldConverter do
  @moduledoc ~S"""
  Converts map keys between Elixir's snake_case atoms and WIT's kebab-case names.

  The conversion is recursive through lists, tuples and map values. Tagged values keep their
  tags: `{:some, x}`, `{:ok, x}`, `{:error, x}` and variant tuples `{:case, payload}` are walked
  into, not rewritten, and structs are left alone.

      iex> Wasmex.Components.FieldConverter.to_wit(%{first_name: "Ada", tags: [%{is_set: true}]})
      %{"first-name" => "Ada", "tags" => [%{"is-set" => true}]}

      iex> Wasmex.Components.FieldConverter.to_elixir(%{"first-name" => "Ada", "maybe" => {:some, %{"x-y" => 1}}})
      %{first_name: "Ada", maybe: {:some, %{x_y: 1}}}
  """

  @doc """
  Converts arguments when `convert?` is true.

      iex> Wasmex.Components.FieldConverter.maybe_convert_args([%{a_b: 1}], true)
      [%{"a-b" => 1}]
  """
  @spec maybe_convert_args(list(), boolean()) :: list()
  def maybe_convert_args(args, true), do: Enum.map(args, &to_wit/1)
  def maybe_convert_args(args, false), do: args

  @doc """
  Converts the value of an `{:ok, value}` result when `convert?` is true; errors pass through.

      iex> Wasmex.Components.FieldConverter.maybe_convert_result({:ok, %{"a-b" => 1}}, true)
      {:ok, %{a_b: 1}}
  """
  @spec maybe_convert_result(term(), boolean()) :: term()
  def maybe_convert_result({:ok, value}, true), do: {:ok, to_elixir(value)}
  def maybe_convert_result(other, _convert?), do: other

  @doc """
  Turns atom map keys into kebab-case strings, recursively.

      iex> Wasmex.Components.FieldConverter.to_wit({:ok, %{user_id: 7}})
      {:ok, %{"user-id" => 7}}
  """
  @spec to_wit(term()) :: term()
  def to_wit(%_{} = struct), do: struct

  def to_wit(map) when is_map(map),
    do: Map.new(map, fn {k, v} -> {wit_key(k), to_wit(v)} end)

  def to_wit(list) when is_list(list), do: Enum.map(list, &to_wit/1)
  def to_wit(tuple) when is_tuple(tuple), do: tuple |> Tuple.to_list() |> walk_tuple(&to_wit/1)
  def to_wit(other), do: other

  @doc """
  Turns kebab-case map keys (atoms or strings) into snake_case atoms, recursively.

      iex> Wasmex.Components.FieldConverter.to_elixir([%{"user-id" => 7}])
      [%{user_id: 7}]
  """
  @spec to_elixir(term()) :: term()
  def to_elixir(%_{} = struct), do: struct

  def to_elixir(map) when is_map(map),
    do: Map.new(map, fn {k, v} -> {elixir_key(k), to_elixir(v)} end)

  def to_elixir(list) when is_list(list), do: Enum.map(list, &to_elixir/1)

  def to_elixir(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> walk_tuple(&to_elixir/1)

  def to_elixir(other), do: other

  # A tagged tuple keeps its tag; every other element is converted.
  defp walk_tuple([tag | rest], fun) when is_atom(tag),
    do: List.to_tuple([tag | Enum.map(rest, fun)])

  defp walk_tuple(items, fun), do: items |> Enum.map(fun) |> List.to_tuple()

  defp wit_key(key) when is_atom(key), do: key |> Atom.to_string() |> String.replace("_", "-")
  defp wit_key(key), do: key

  defp elixir_key(key) when is_atom(key), do: key |> Atom.to_string() |> elixir_key()

  defp elixir_key(key) when is_binary(key),
    do: key |> String.replace("-", "_") |> String.to_atom()

  defp elixir_key(key), do: key
end
