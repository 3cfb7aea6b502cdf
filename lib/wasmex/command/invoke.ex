defmodule Wasmex.Command.Invoke do
  @moduledoc false
  # `mix wasmex.run --invoke NAME`: calls one export of a core module or a component, in a fresh
  # WASI store set up like a command's, with arguments given as strings.
  #
  # Core arguments are parsed by the export's parameter types. Component functions are called
  # with each argument read as an integer, a float, `true`/`false`, a double-quoted string (its
  # contents), or else the text itself as a string.

  alias Wasmex.Command.{Failure, Options, Setup, Stdio}
  alias Wasmex.{Components, Instance, Module}

  @doc false
  # `{:ok, results, stdout, stderr}`: `results` is a list of printable lines.
  @spec call(binary(), binary(), [binary()], keyword()) ::
          {:ok, [binary()], binary(), binary()} | {:error, term()}
  def call(bytes, name, args, opts) do
    # The arguments are the function's, not the program's.
    opts = Options.validate!(Keyword.put(opts, :args, []))
    deadline = if opts.timeout == :infinity, do: nil, else: now() + opts.timeout

    with {:ok, io} <- Stdio.open(opts.stdin),
         {:ok, lines} <-
           invoke(Wasmex.Command.component?(bytes), bytes, name, args, opts, io, deadline),
         {:ok, result} <- Stdio.result(io, 0, opts.max_output) do
      {:ok, lines, result.stdout, result.stderr}
    end
  end

  defp invoke(false, bytes, name, args, opts, io, deadline) do
    with {:ok, store} <- Setup.store(:core, opts, io),
         {:ok, module} <- Setup.load(:core, store, bytes),
         {:ok, params} <- core_params(module, name, args),
         {:ok, instance} <-
           Instance.new(store, module, %{}, [], Wasmex.Command.left(deadline))
           |> step(store, :instantiate),
         {:ok, _} <- initialize(store, instance, deadline),
         {:ok, results} <-
           Instance.call(store, instance, name, params, Wasmex.Command.left(deadline))
           |> step(store, :trap) do
      {:ok, Enum.map(results, &to_string/1)}
    end
  end

  defp invoke(true, bytes, name, args, opts, io, deadline) do
    with {:ok, store} <- Setup.store(:component, opts, io),
         {:ok, component} <- Setup.load(:component, store, bytes),
         {:ok, instance} <-
           Components.Instance.new(store, component, %{}, Wasmex.Command.left(deadline))
           |> step(store, :instantiate) do
      path = String.split(name, "#")
      params = Enum.map(args, &component_value/1)

      case Components.Instance.call(instance, path, params, Wasmex.Command.left(deadline)) do
        {:ok, value} ->
          {:ok, [inspect(value, limit: :infinity, printable_limit: :infinity)]}

        # A call that did not break the instance never entered the guest.
        {:error, text} when is_binary(text) ->
          if Components.Instance.poisoned?(instance),
            do: step({:error, text}, store, :trap),
            else: {:error, {:call, text}}

        error ->
          step(error, store, :trap)
      end
    end
  end

  # A reactor is initialized before its export is called, as `wasmtime run --invoke` does.
  defp initialize(store, instance, deadline) do
    if Instance.function_export_exists(store, instance, "_initialize"),
      do:
        Instance.call(store, instance, "_initialize", [], Wasmex.Command.left(deadline))
        |> step(store, :trap),
      else: {:ok, []}
  end

  defp step({:ok, value}, _store, _stage), do: {:ok, value}

  defp step({:error, reason}, store, stage) do
    case Failure.classify(reason, store.resource, stage) do
      {:exit, code} -> {:error, {:exit, code}}
      error -> error
    end
  end

  defp core_params(module, name, args) do
    case Module.exports(module) do
      %{^name => {:fn, types, _results}} when length(types) == length(args) ->
        types |> Enum.zip(args) |> Enum.reduce_while({:ok, []}, &parse_core/2) |> reverse()

      %{^name => {:fn, types, _results}} ->
        {:error, {:arguments, "`#{name}` takes #{length(types)} arguments, got #{length(args)}"}}

      _ ->
        {:error, {:not_found, "the module does not export a function `#{name}`"}}
    end
  end

  defp parse_core({type, text}, {:ok, acc}) do
    case core_value(type, text) do
      :error -> {:halt, {:error, {:arguments, "cannot read #{inspect(text)} as #{type}"}}}
      value -> {:cont, {:ok, [value | acc]}}
    end
  end

  defp reverse({:ok, list}), do: {:ok, Enum.reverse(list)}
  defp reverse(error), do: error

  # A number of the parameter's type, or `:error`.
  defp core_value(type, text) when type in [:i32, :i64], do: number(Integer.parse(text))
  defp core_value(type, text) when type in [:f32, :f64], do: number(Float.parse(text))
  defp core_value(_type, _text), do: :error

  defp component_value("true"), do: true
  defp component_value("false"), do: false

  defp component_value("\"" <> _ = text) do
    if String.ends_with?(text, "\"") and byte_size(text) >= 2,
      do: binary_part(text, 1, byte_size(text) - 2),
      else: text
  end

  defp component_value(text) do
    with :error <- number(Integer.parse(text)), :error <- number(Float.parse(text)), do: text
  end

  # The number a whole text parses to, or `:error`.
  defp number({n, ""}), do: n
  defp number(_), do: :error

  defp now, do: System.monotonic_time(:millisecond)
end
