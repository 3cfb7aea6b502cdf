defmodule Wasmex.Links do
  @moduledoc false
  # Flattens the `:links` option of `Wasmex.start_link/1` into the ordered list that
  # `Wasmex.Instance.new/4` takes: dependencies first, each name once.

  alias Wasmex.Module

  @spec flatten(map(), Wasmex.StoreOrCaller.t()) ::
          {:ok, [Wasmex.Instance.link()]} | {:error, term()}
  def flatten(links, store) when is_map(links) do
    links
    |> collect([])
    |> Enum.uniq_by(fn {name, _spec} -> name end)
    |> Enum.reduce_while({:ok, []}, fn {name, spec}, {:ok, acc} ->
      case compile(spec, store) do
        {:ok, module} -> {:cont, {:ok, [%{name: name, module: module} | acc]}}
        {:error, _} = error -> {:halt, error}
      end
    end)
    |> case do
      {:ok, list} -> {:ok, Enum.reverse(list)}
      error -> error
    end
  end

  # Depth first, each link prepended before its own links: the result lists dependencies first.
  defp collect(links, acc) do
    Enum.reduce(links, acc, fn {name, spec}, acc ->
      acc = [{to_string(name), spec} | acc]
      collect(Map.get(spec, :links, %{}), acc)
    end)
  end

  defp compile(%{module: %Module{} = module}, _store), do: {:ok, module}
  defp compile(%{bytes: bytes}, store) when is_binary(bytes), do: Module.compile(store, bytes)

  defp compile(other, _store),
    do: raise(ArgumentError, "a link must have :bytes or :module, got: #{inspect(other)}")
end
