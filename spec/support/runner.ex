defmodule Wasmex.Spec.Runner do
  @moduledoc false
  # Runs the commands of one converted spec script through the public API. Every module runs in
  # its own `Wasmex` server; a crash or an exit is counted as a failure of that command.

  alias Wasmex.Spec.{Instances, Values}

  @timeout 10_000

  @doc """
  Runs `json` (a converted script in `dir`); returns `{passed, failed, unrepresentable,
  failures, unrepresentable_by_reason}`.
  """
  @spec run(Path.t(), Path.t(), Wasmex.Engine.t()) ::
          {non_neg_integer(), non_neg_integer(), non_neg_integer(), list(), map()}
  def run(json, dir, engine) do
    %{"commands" => commands} = json |> File.read!() |> Wasmex.Spec.Json.decode!()
    {:ok, store} = Wasmex.Store.new(nil, engine)
    {:ok, spectest} = Wasmex.Module.compile(store, Wasmex.Spec.Instances.spectest())

    state = %{
      dir: dir,
      engine: engine,
      store: store,
      spectest: spectest,
      last: nil,
      named: %{},
      definitions: %{},
      registered: %{},
      unregistered: MapSet.new(),
      modules: %{},
      deps: %{},
      tainted: MapSet.new(),
      stateful: MapSet.new(),
      counts: {0, 0, 0},
      reasons: %{},
      failures: [],
      pids: []
    }

    state = Enum.reduce(commands, state, &step/2)
    Enum.each(state.pids, &stop/1)
    flush_exits()
    {p, f, u} = state.counts
    {p, f, u, Enum.reverse(state.failures), state.reasons}
  end

  defp step(cmd, state) do
    {outcome, state} =
      try do
        command(cmd, state)
      rescue
        e -> {{:fail, "raised: " <> Exception.message(e)}, state}
      catch
        kind, reason -> {{:fail, "#{kind}: #{inspect(reason, limit: 5)}"}, state}
      end

    case outcome do
      # A call that could not be made would have changed only an instance that keeps state.
      {:taint, pid} ->
        tainted =
          if pid in state.stateful, do: MapSet.put(state.tainted, pid), else: state.tainted

        count(%{state | tainted: tainted}, :unrepresentable, cmd)

      outcome ->
        count(state, outcome, cmd)
    end
  end

  # Why a command is unrepresentable, for the totals.
  defp why(cmd) do
    args = get_in(cmd, ["action", "args"]) || []
    refs? = fn values -> Enum.any?(values, &(&1["type"] not in ~w(i32 i64 f32 f64 v128))) end

    cond do
      refs?.(args) ->
        :reference_values

      Values.args(args) == :unrepresentable ->
        :nan_payload_arguments

      not Values.representable?(cmd["expected"] || []) ->
        :reference_values

      cmd["type"] in ~w(module register assert_unlinkable assert_uninstantiable) ->
        :instance_linking

      cmd["type"] in ~w(assert_return assert_trap action assert_exhaustion assert_exception) ->
        :shared_state

      true ->
        {:command, cmd["type"]}
    end
  end

  defp count(%{counts: {p, f, u}} = state, outcome, cmd) do
    case outcome do
      :pass ->
        %{state | counts: {p + 1, f, u}}

      :unrepresentable ->
        %{
          state
          | counts: {p, f, u + 1},
            reasons: Map.update(state.reasons, why(cmd), 1, &(&1 + 1))
        }

      {:fail, why} ->
        %{
          state
          | counts: {p, f + 1, u},
            failures: [{cmd["line"], cmd["type"], why} | state.failures]
        }
    end
  end

  defp command(%{"type" => "module"} = cmd, state) do
    {result, state} = Instances.instantiate(cmd["filename"], state)
    state = %{state | last: result}
    state = if cmd["name"], do: put_in(state.named[cmd["name"]], result), else: state

    case result do
      {:ok, _pid} -> {:pass, state}
      :unrepresentable -> {:unrepresentable, state}
      {:error, why} -> {{:fail, "module did not start: #{inspect(why)}"}, state}
    end
  end

  defp command(%{"type" => "module_definition", "filename" => file} = cmd, state) do
    case Instances.compile(file, state) do
      {:ok, _} -> {:pass, put_in(state.definitions[cmd["name"]], file)}
      {:error, why} -> {{:fail, "did not compile: #{why}"}, state}
    end
  end

  defp command(%{"type" => "module_instance", "instance" => inst, "module" => mod}, state) do
    {result, state} = Instances.instantiate(Map.fetch!(state.definitions, mod), state)
    state = put_in(state.named[inst], result)
    {if(match?({:ok, _}, result), do: :pass, else: {:fail, inspect(result)}), state}
  end

  defp command(%{"type" => "register", "as" => as} = cmd, state) do
    case target(cmd["name"], state) do
      {:ok, pid} -> {:pass, put_in(state.registered[as], pid)}
      _ -> {:unrepresentable, %{state | unregistered: MapSet.put(state.unregistered, as)}}
    end
  end

  defp command(%{"type" => "assert_return", "action" => action, "expected" => expected}, state) do
    if Values.representable?(expected) do
      case act(action, state) do
        {:ok, got} ->
          if Values.match?(expected, got),
            do: {:pass, state},
            else: {{:fail, "got #{inspect(got)}, expected #{inspect(expected)}"}, state}

        other ->
          {outcome(other), state}
      end
    else
      # Still made: the call may change the instance. Its result cannot be compared.
      case act(action, state) do
        {:taint, pid} -> {{:taint, pid}, state}
        _ -> {:unrepresentable, state}
      end
    end
  end

  defp command(%{"type" => "action", "action" => action}, state) do
    case act(action, state) do
      {:ok, _} -> {:pass, state}
      other -> {outcome(other), state}
    end
  end

  defp command(%{"type" => t, "action" => action}, state)
       when t in ["assert_trap", "assert_exhaustion", "assert_exception"] do
    case act(action, state) do
      {:error, _} -> {:pass, state}
      {:ok, got} -> {{:fail, "returned #{inspect(got)} instead of failing"}, state}
      other -> {outcome(other), state}
    end
  end

  defp command(%{"type" => t, "filename" => file}, state)
       when t in ["assert_invalid", "assert_malformed"] do
    case Wasmex.Module.compile(state.store, File.read!(Path.join(state.dir, file))) do
      {:error, _} -> {:pass, state}
      {:ok, _} -> {{:fail, "compiled"}, state}
    end
  end

  defp command(%{"type" => "assert_unlinkable", "filename" => file}, state) do
    case Instances.unlinkable(file, state) do
      {:error, _} -> {:pass, state}
      :unrepresentable -> {:unrepresentable, state}
      {:ok, pid} -> {{:fail, "instantiated"}, %{state | pids: [pid | state.pids]}}
    end
  end

  defp command(%{"type" => "assert_uninstantiable", "filename" => file}, state) do
    case Instances.instantiate(file, state) do
      {{:error, _}, state} -> {:pass, state}
      {:unrepresentable, state} -> {:unrepresentable, state}
      {{:ok, pid}, state} -> {{:fail, "instantiated"}, %{state | pids: [pid | state.pids]}}
    end
  end

  defp command(_other, state), do: {:unrepresentable, state}

  defp outcome(:unrepresentable), do: :unrepresentable
  defp outcome({:taint, pid}), do: {:taint, pid}
  defp outcome(other), do: {:fail, inspect(other, limit: 8)}

  defp act(%{"type" => "invoke", "field" => field, "args" => args} = action, state) do
    with {:ok, pid} <- target(action["module"], state) do
      case Values.args(args) do
        {:ok, values} -> call(pid, field, values)
        # The call may change the instance (a table grown with a reference): taint it.
        :unrepresentable -> {:taint, pid}
      end
    end
  end

  defp act(%{"type" => "get", "field" => field} = action, state) do
    with {:ok, pid} <- target(action["module"], state) do
      {:ok, store} = Wasmex.store(pid)
      {:ok, instance} = Wasmex.instance(pid)

      case Wasmex.Instance.get_global_value(store, instance, field) do
        {:ok, v} -> {:ok, [v]}
        other -> other
      end
    end
  end

  # The server of the module an action names (or of the last module); a module that failed to
  # start is `{:no_module, why}`, so that an assertion expecting an error does not pass.
  # A server whose state another instance would have changed through a shared global, memory or
  # table (which the API cannot share), or that calls such a server, is tainted: its answers are
  # not the spec's, so commands on it are unrepresentable.
  defp target(nil, %{last: last} = state), do: usable(last, state)
  defp target(name, state), do: usable(Map.get(state.named, name), state)

  defp usable({:ok, pid}, state),
    do: if(tainted?(pid, state, 8), do: :unrepresentable, else: {:ok, pid})

  defp usable(:unrepresentable, _state), do: :unrepresentable
  defp usable(other, _state), do: {:no_module, other}

  defp tainted?(_pid, _state, 0), do: true

  defp tainted?(pid, state, depth),
    do:
      pid in state.tainted or
        Enum.any?(Map.get(state.deps, pid, []), &tainted?(&1, state, depth - 1))

  defp call(pid, field, values) do
    Wasmex.call_function(pid, field, values, @timeout)
  catch
    :exit, reason -> {:exit, reason}
  end

  defp stop(pid) do
    Process.unlink(pid)
    Process.exit(pid, :kill)
  end

  defp flush_exits do
    receive do
      {:EXIT, _, _} -> flush_exits()
    after
      0 -> :ok
    end
  end
end
