# Lists the documentation gaps of wasmex's public API:
#
#   * public modules without a @moduledoc, or whose moduledoc has no example;
#   * public functions and macros without a @doc, or whose doc has no example;
#   * public modules in no group of the docs config (mix.exs, :groups_for_modules).
#
# An example is an `iex>` line or a code block (fenced, or indented by four
# spaces). Hidden modules and functions (@moduledoc false, @doc false) are not
# public, nor are protocol implementations. Callbacks of behaviours (GenServer's init/1, ...) and generated
# functions (child_spec/1, __using__/1 ...) are skipped.
#
#     mix run tools/doc_gaps.exs            # prints the gaps, exits 0
#     mix run tools/doc_gaps.exs --strict   # exits 1 when there is any gap
defmodule DocGaps do
  @skip_functions [child_spec: 1, __using__: 1, __struct__: 0, __struct__: 1]

  def run(args) do
    {opts, _, _} = OptionParser.parse(args, strict: [strict: :boolean])
    groups = Keyword.get(Mix.Project.config()[:docs] || [], :groups_for_modules, [])
    {:ok, modules} = :application.get_key(:wasmex, :modules)

    gaps =
      modules
      |> Enum.sort()
      |> Enum.reject(&protocol_impl?/1)
      |> Enum.flat_map(&module_gaps(&1, groups))

    Enum.each(gaps, &IO.puts/1)
    IO.puts("#{length(gaps)} documentation gaps")
    if opts[:strict] && gaps != [], do: System.halt(1)
  end

  defp module_gaps(module, groups) do
    case Code.fetch_docs(module) do
      {:docs_v1, _, _, _, %{"en" => moduledoc}, _, docs} ->
        name = inspect(module)

        [
          unless(example?(moduledoc), do: "#{name}: moduledoc has no example"),
          unless(grouped?(module, groups) or mix_task?(name), do: "#{name}: in no docs group")
        ]
        |> Enum.reject(&is_nil/1)
        |> Kernel.++(function_gaps(name, module, docs))

      {:docs_v1, _, _, _, :none, _, _} ->
        ["#{inspect(module)}: no moduledoc"]

      _ ->
        []
    end
  end

  defp function_gaps(name, module, docs) do
    callbacks = callbacks(module)

    for {{kind, fun, arity}, _, _, doc, meta} <- docs,
        kind in [:function, :macro],
        doc != :hidden,
        {fun, arity} not in @skip_functions,
        {fun, arity} not in callbacks,
        not Map.has_key?(meta, :delegate_to) or doc != :none,
        gap = function_gap(doc) do
      "#{name}.#{fun}/#{arity}: #{gap}"
    end
  end

  defp function_gap(:none), do: "no doc"
  defp function_gap(%{"en" => doc}), do: unless(example?(doc), do: "doc has no example")

  defp callbacks(module) do
    behaviours =
      module.module_info(:attributes) |> Keyword.get_values(:behaviour) |> List.flatten()

    Enum.flat_map(behaviours, fn behaviour ->
      if function_exported?(behaviour, :behaviour_info, 1),
        do: behaviour.behaviour_info(:callbacks),
        else: []
    end)
  end

  defp example?(doc) when is_binary(doc) do
    String.contains?(doc, ["iex>", "```"]) or Regex.match?(~r/(^|\n)\n {4,}\S/, doc)
  end

  defp grouped?(module, groups) do
    name = inspect(module)

    Enum.any?(groups, fn {_group, patterns} ->
      Enum.any?(List.wrap(patterns), fn
        %Regex{} = regex -> Regex.match?(regex, name)
        pattern when is_atom(pattern) -> pattern == module
        pattern when is_binary(pattern) -> pattern == name
        _ -> false
      end)
    end)
  end

  # `defimpl Inspect, for: ...`: ExDoc does not list implementations.
  defp protocol_impl?(module) do
    Code.ensure_loaded?(module) and function_exported?(module, :__impl__, 1)
  end

  # ExDoc lists Mix tasks in a section of their own.
  defp mix_task?(name), do: String.starts_with?(name, "Mix.Tasks.")
end

DocGaps.run(System.argv())
