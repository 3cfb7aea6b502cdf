defmodule Wasmex.Spec.Linking do
  @moduledoc false
  # What the public API can do for spec modules that import from registered instances: forward
  # their functions to the exporting servers, and tell which instances hold state (globals,
  # memories, tables) that calls could change.

  @numeric [:i32, :i64, :f32, :f64, :v128]
  @timeout 10_000

  # Imports from registered instances: their functions, forwarded to their servers when the
  # types match what the instance exports. A global, memory or table would be shared state:
  # `{:shared, pids}`. A mismatch (an unlinkable module) is left to `unlinkable/2`.
  @spec imports(Wasmex.Module.t(), map()) :: {:ok, map()} | {:shared, [pid()]} | :unrepresentable
  def imports(module, state) do
    all = Wasmex.Module.imports(module)

    cond do
      Enum.any?(Map.keys(all), &(&1 in state.unregistered)) ->
        :unrepresentable

      true ->
        all
        |> Enum.filter(fn {ns, _} -> Map.has_key?(state.registered, ns) end)
        |> Enum.map(fn {ns, items} -> {ns, state.registered[ns], items} end)
        |> forwarded(state)
    end
  end

  defp forwarded(namespaces, state) do
    shared =
      for {_, pid, items} <- namespaces,
          Enum.any?(items, &(not match?({_, {:fn, _, _}}, &1))),
          do: pid

    if shared != [] do
      {:shared, shared}
    else
      funs =
        for {ns, pid, items} <- namespaces, {name, {:fn, params, results} = ty} <- items do
          exported = Map.get(Wasmex.Module.exports(state.modules[pid]), name)

          if exported == ty and Enum.all?(params ++ results, &(&1 in @numeric)) and
               length(params) <= 16,
             do:
               {ns, name,
                {:fn, params, results, forwarder(length(params), pid, name, length(results))}},
             else: :unrepresentable
        end

      if :unrepresentable in funs,
        do: :unrepresentable,
        else:
          {:ok,
           Enum.reduce(funs, %{}, fn {ns, name, f}, acc ->
             Map.update(acc, ns, %{name => f}, &Map.put(&1, name, f))
           end)}
    end
  end

  defp forward(pid, name, n_results, args) do
    case Wasmex.call_function(pid, name, args, @timeout) do
      {:ok, [one]} when n_results == 1 -> one
      {:ok, many} -> many
      {:error, reason} -> raise "forwarded call failed: #{inspect(reason)}"
    end
  end

  for n <- 0..16 do
    args = Macro.generate_arguments(n, __MODULE__)

    defp forwarder(unquote(n), pid, name, n_results),
      do: fn _context, unquote_splicing(args) -> forward(pid, name, n_results, unquote(args)) end
  end

  @doc """
  Whether instances of the module (its wasm `bytes`) keep state between calls: it defines or
  imports a table, memory or global.
  """
  @spec stateful?(binary(), Wasmex.Module.t()) :: boolean()
  def stateful?(<<0, "asm", _version::32, sections::binary>>, module),
    do: defines_state?(sections) or imports_state?(module)

  def stateful?(_text, _module), do: true

  defp imports_state?(module) do
    module
    |> Wasmex.Module.imports()
    |> Enum.any?(fn {_, items} ->
      Enum.any?(items, fn {_, info} -> not match?({:fn, _, _}, info) end)
    end)
  end

  defp defines_state?(<<>>), do: false

  defp defines_state?(<<id, rest::binary>>) do
    {size, rest} = leb128(rest, 0, 0)

    cond do
      id in [4, 5, 6] -> true
      byte_size(rest) < size -> true
      true -> defines_state?(binary_part(rest, size, byte_size(rest) - size))
    end
  end

  defp leb128(<<byte, rest::binary>>, shift, acc) do
    acc = acc + Bitwise.bsl(Bitwise.band(byte, 0x7F), shift)
    if byte >= 0x80, do: leb128(rest, shift + 7, acc), else: {acc, rest}
  end

  defp leb128(<<>>, _shift, acc), do: {acc, <<>>}
end
