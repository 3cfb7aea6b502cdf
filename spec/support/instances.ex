defmodule Wasmex.Spec.Instances do
  @moduledoc false
  # Starts the `Wasmex` servers of spec modules: `spectest` is linked as a module of our own,
  # functions of registered instances are forwarded (`Wasmex.Spec.Linking`).

  @timeout 10_000
  @spectest ~S"""
  (module
    (global (export "global_i32") i32 (i32.const 666))
    (global (export "global_i64") i64 (i64.const 666))
    (global (export "global_f32") f32 (f32.const 666.6))
    (global (export "global_f64") f64 (f64.const 666.6))
    (table (export "table") 10 20 funcref)
    (table (export "table64") i64 10 20 funcref)
    (memory (export "memory") 1 2)
    (func (export "print"))
    (func (export "print_i32") (param i32))
    (func (export "print_i64") (param i64))
    (func (export "print_f32") (param f32))
    (func (export "print_f64") (param f64))
    (func (export "print_i32_f32") (param i32 f32))
    (func (export "print_f64_f64") (param f64 f64)))
  """

  @doc "The source of the `spectest` module the scripts import from."
  @spec spectest() :: binary()
  def spectest, do: @spectest

  # Starts a server for the module in `file`: imports from `spectest` are linked, functions of
  # registered instances are forwarded to their servers; other imports of registered instances
  # (globals, memories, tables) cannot be shared through the API.
  @doc false
  def instantiate(file, state) do
    bytes = File.read!(Path.join(state.dir, file))

    with {:ok, module} <- Wasmex.Module.compile(state.store, bytes),
         {:ok, imports} <- Wasmex.Spec.Linking.imports(module, state) do
      case start(module, imports, spectest_links(module, state), state) do
        {:ok, pid} ->
          deps = for {ns, _} <- imports, do: state.registered[ns]

          {{:ok, pid},
           %{
             state
             | pids: [pid | state.pids],
               modules: Map.put(state.modules, pid, module),
               deps: Map.put(state.deps, pid, deps),
               stateful:
                 if(Wasmex.Spec.Linking.stateful?(bytes, module),
                   do: MapSet.put(state.stateful, pid),
                   else: state.stateful
                 )
           }}

        # Elixir functions have plain function types: a module whose imports need a type from a
        # recursion group or a declared subtype cannot take them in place of the real export.
        {:error, _} when imports != %{} ->
          {:unrepresentable, state}

        {:error, _} = error ->
          {error, state}
      end
    else
      {:shared, pids} ->
        {:unrepresentable, %{state | tainted: MapSet.union(state.tainted, MapSet.new(pids))}}

      :unrepresentable ->
        {:unrepresentable, state}

      {:error, _} = error ->
        {error, state}
    end
  end

  # For assert_unlinkable, registered instances are linked as their modules (a fresh instance
  # each), so that the linker itself checks the import types; possible when those modules
  # import only from spectest.
  @doc false
  def unlinkable(file, state) do
    with {:ok, module} <- compile(file, state) do
      namespaces = Map.keys(Wasmex.Module.imports(module))

      if Enum.any?(namespaces, &(&1 in state.unregistered)) do
        :unrepresentable
      else
        exporters = for ns <- namespaces, pid = state.registered[ns], do: {ns, state.modules[pid]}

        if Enum.all?(exporters, fn {_, m} ->
             Map.keys(Wasmex.Module.imports(m)) -- ["spectest"] == []
           end) do
          links =
            Map.new(exporters, fn {ns, m} ->
              {ns, %{module: m, links: spectest_links(m, state)}}
            end)

          start(module, %{}, Map.merge(spectest_links(module, state), links), state)
        else
          :unrepresentable
        end
      end
    end
  end

  @doc false
  def compile(file, state),
    do: Wasmex.Module.compile(state.store, File.read!(Path.join(state.dir, file)))

  defp spectest_links(module, state) do
    if Map.has_key?(Wasmex.Module.imports(module), "spectest"),
      do: %{"spectest" => %{module: state.spectest}},
      else: %{}
  end

  defp start(module, imports, links, state) do
    {:ok, store} = Wasmex.Store.new(nil, state.engine)

    Wasmex.start_link(%{
      module: module,
      store: store,
      imports: imports,
      links: links,
      timeout: @timeout
    })
  end
end
