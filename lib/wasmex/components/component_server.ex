defmodule Wasmex.Components.ComponentServer do
  @moduledoc ~S"""
  Generates a module wrapping a component's world exports as Elixir functions.

      defmodule MyApp.Chat do
        use Wasmex.Components.ComponentServer,
          wit: "priv/chat-room.wit",
          imports: %{"publish-message" => {:fn, &MyApp.Pubsub.publish/1}}
      end

      {:ok, pid} = MyApp.Chat.start_link(path: "priv/chat-room.wasm")
      {:ok, state} = MyApp.Chat.init(pid)
      {:ok, _} = MyApp.Chat.add_message(pid, "hello")

  Options:
  - `:wit` — path to a WIT file, relative to the project root (tracked as an `@external_resource`; the module recompiles when it
    changes). Without it, `:component` (a path to the `.wasm`, read at compile time) gives the
    world from the component binary itself.
  - `:world` — which world, when the WIT defines several.
  - `:imports` — the import map; imports given to `start_link/1` at runtime are merged over it.
  - `:convert_field_names` — (default `true`) convert snake_case map keys to WIT kebab-case going
    in and back coming out (`Wasmex.Components.FieldConverter`).

  Each exported world function `do-thing(a, b)` becomes `do_thing(server, a, b)` and
  `do_thing(server, a, b, timeout)` (default 5000 ms).
  """

  @doc false
  defmacro __using__(opts) do
    opts =
      Keyword.validate!(opts, [
        :wit,
        :component,
        :world,
        imports: quote(do: %{}),
        convert_field_names: true
      ])

    # Relative paths are read from the current directory (the project root), like File.read!/1.
    source =
      cond do
        opts[:wit] ->
          {:wit, Path.expand(opts[:wit])}

        opts[:component] ->
          {:component, Path.expand(opts[:component])}

        true ->
          raise ArgumentError, "use Wasmex.Components.ComponentServer needs :wit or :component"
      end

    functions = Wasmex.Components.Wit.exported_functions!(source, opts[:world], __CALLER__)
    {_, resource} = source
    convert? = opts[:convert_field_names]
    imports = opts[:imports]

    wrappers =
      for {wit_name, arity} <- Enum.sort(functions) do
        name = wit_name |> String.replace("-", "_") |> String.to_atom()
        args = Macro.generate_arguments(arity, __MODULE__)

        quote do
          @doc "Calls the component's `#{unquote(wit_name)}` export."
          def unquote(name)(server, unquote_splicing(args), timeout \\ 5000) do
            args =
              Wasmex.Components.FieldConverter.maybe_convert_args(
                unquote(args),
                unquote(convert?)
              )

            server
            |> Wasmex.Components.call_function(unquote(wit_name), args, timeout)
            |> Wasmex.Components.FieldConverter.maybe_convert_result(unquote(convert?))
          end
        end
      end

    quote do
      @external_resource unquote(resource)

      @doc "Starts the component server; see `Wasmex.Components.start_link/1`."
      def start_link(opts) do
        opts = Keyword.new(opts)
        imports = Map.merge(unquote(imports), Keyword.get(opts, :imports, %{}))
        Wasmex.Components.start_link(Keyword.put(opts, :imports, imports))
      end

      @doc false
      def child_spec(opts), do: Wasmex.Server.child_spec(__MODULE__, opts)

      unquote_splicing(wrappers)
    end
  end
end
