defmodule Wasmex.Components.ResourceMacroOptionsTest do
  # The option checks and compile errors of both resource macros, as one table. Each row is a
  # test: its name (as it was in the macro's own suite) and the `use` sources it compiles, each
  # with the exception and the exact message it must raise. A source is what follows
  # `use <macro>, `: the options, then (after a newline) the module body.
  use Wasmex.MacroCase, async: true

  alias Wasmex.WitFixtures

  @resources_wit ~S|File.read!("wasm/component_resources/wit/resources.wit")|
  @host_wit ~S|File.read!("wasm/component_host_resources/wit/host.wit")|
  @parse_error "nofile:2: " <> WitFixtures.parse_error("nofile")
  @two_worlds_error "nofile:2: " <> WitFixtures.two_worlds_error("nofile")
  @unknown_keys "unknown keys [:bogus] in [wit: \"package a:b; world w {}\", resource: \"r\", " <>
                  "bogus: 1], the allowed keys are: "
  @bogus ~S|wit: "package a:b; world w {}", resource: "r", bogus: 1|
  @wit_not_text {ArgumentError, ":wit must be WIT source text, got: 1", ~S|wit: 1, resource: "r"|}
  # `-` -> `_` is the only renaming and WIT names have no `_`, so the only reachable clash
  # is the constructor (`new`) with a function named `new`.
  @clash_row {"a function named like the constructor is a clash",
              [
                {CompileError,
                 "nofile:2: `[constructor]r`, `[method]r.new` all become the Elixir function `new`",
                 {:r, "constructor(); new: func();"}}
              ]}
  @missing_path Path.expand("wasm/missing/host.wit")
  @two_interfaces WitFixtures.two_imported_interfaces()

  @guest [
    {"an unknown resource is a compile error",
     [
       {CompileError, "nofile:2: exported resource `nope` not found",
        ~s|wit: #{@resources_wit}, resource: "nope"|}
     ]},
    {"an imported resource is not found",
     [
       {CompileError, "nofile:2: exported resource `logger` not found",
        ~s|wit: #{@host_wit}, resource: "logger"|}
     ]},
    {"a parse error is a compile error",
     [{CompileError, @parse_error, ~S|wit: "package a:b; oops", resource: "r"|}]},
    {"several worlds without :world are a compile error",
     [
       {CompileError, @two_worlds_error,
        ~S|wit: "package a:b; interface i { resource r; } world w { export i; } world v { }", | <>
          ~S|resource: "r"|}
     ]},
    {"two exported resources of the same name are a compile error",
     [
       {CompileError, "nofile:2: Multiple resources are named `r`; pass the :interface option",
        ~S|wit: "package a:b; interface i { resource r; } interface j { resource r; } | <>
          ~S|world w { export i; export j; }", resource: "r"|}
     ]},
    {"a method named drop is a compile error",
     [
       {CompileError,
        "nofile:2: resource function `[method]r.drop` cannot be named `drop`: " <>
          "`drop` drops the resource", {:r, "drop: func();"}}
     ]},
    {"a static function named new is a compile error",
     [
       {CompileError,
        "nofile:2: resource function `[static]r.new` cannot be named `new`: " <>
          "`new` calls the constructor", {:r, "new: static func();"}}
     ]},
    @clash_row,
    {"an unknown option raises",
     [{ArgumentError, @unknown_keys <> "[:wit, :resource, :world, :interface]", @bogus}]},
    {":wit must evaluate to text",
     [
       @wit_not_text,
       {ArgumentError, ":wit must be WIT source text, got: nil", ~S|resource: "r"|}
     ]},
    {":resource must be a string",
     [
       {ArgumentError, ":resource must be a string, got: :accumulator",
        ~s|wit: #{@resources_wit}, resource: :accumulator|}
     ]}
  ]

  @host [
    {"missing callbacks are a compile error listing them",
     [
       {CompileError, "nofile:1: Missing host resource callbacks: log/2, count/1, make_default/0",
        ~S|wit_path: "wasm/component_host_resources/wit", resource: "logger"| <>
          "\ndef new(prefix), do: prefix"}
     ]},
    {"a callback of the wrong arity or a private one is missing",
     [
       {CompileError,
        "nofile:1: Missing host resource callbacks: new/1, log/2, count/1, make_default/0",
        ~S'''
        wit_path: "wasm/component_host_resources/wit/host.wit", resource: "logger"
        def new, do: :logger
        def log(_logger), do: ""
        def count(_logger, _extra), do: 0
        defp make_default, do: :logger
        def unused, do: make_default()
        '''}
     ]},
    {"missing async callbacks count self",
     [
       {CompileError, "nofile:1: Missing host resource callbacks: m/2, s/0",
        {:r, "m: async func(x: u32); s: static async func();"}}
     ]},
    {"both :wit and :wit_path raise",
     [
       {ArgumentError, "use Wasmex.Components.HostResource takes :wit or :wit_path, not both",
        ~S|wit: "package a:b; world w {}", wit_path: "wasm/component_host_resources/wit", | <>
          ~S|resource: "logger"|}
     ]},
    {"neither :wit nor :wit_path raises",
     [
       {ArgumentError, "use Wasmex.Components.HostResource needs :wit or :wit_path",
        ~S|resource: "logger"|}
     ]},
    {"an unknown resource is a compile error",
     [
       {CompileError, "nofile:2: imported resource `nope` not found",
        ~S|wit_path: "wasm/component_host_resources/wit", resource: "nope"|}
     ]},
    {"an exported resource is not an imported one",
     [
       {CompileError, "nofile:2: imported resource `accumulator` not found",
        ~S|wit_path: "wasm/component_resources/wit/resources.wit", resource: "accumulator"|}
     ]},
    {"a missing wit_path is a compile error",
     [
       {CompileError, "nofile:2: " <> WitFixtures.missing_path_error(@missing_path),
        ~S|wit_path: "wasm/missing/host.wit", resource: "logger"|}
     ]},
    {"a parse error in wit: is a compile error",
     [{CompileError, @parse_error, ~S|wit: "package a:b; oops", resource: "r"|}]},
    {"two imported resources of the same name need :interface",
     [
       {CompileError,
        "nofile:2: Multiple imported resources are named `r`; pass the :interface option",
        ~s|wit: #{inspect(@two_interfaces)}, resource: "r"|}
     ]},
    {"several worlds without :world are a compile error",
     [
       {CompileError, @two_worlds_error,
        ~S|wit: "package a:b; interface i { resource r; } world w { } world v { import i; }", | <>
          ~S|resource: "r"|}
     ]},
    {"a resource function named drop or imports is a compile error",
     [
       {CompileError,
        "nofile:2: resource function `[method]r.drop` cannot be named `drop`: " <>
          "`drop/1` is the destructor", {:r, "drop: func();"}},
       {CompileError,
        "nofile:2: resource function `[static]r.imports` cannot be named `imports`: " <>
          "`imports/0` is generated", {:r, "imports: static func();"}}
     ]},
    @clash_row,
    {"an unknown option raises",
     [
       {ArgumentError, @unknown_keys <> "[:wit, :wit_path, :resource, :world, :interface]",
        @bogus}
     ]},
    {"option types are checked",
     [
       @wit_not_text,
       {ArgumentError, ":wit_path must be a path, got: :path",
        ~S|wit_path: :path, resource: "r"|},
       {ArgumentError, ":resource must be a string, got: nil",
        ~S|wit_path: "wasm/component_host_resources/wit"|}
     ]}
  ]

  # The module source for one row: `use` on line 2 (where the macros report option errors),
  # the body after it. `{:r, resource_body}` stands for the options of a one-resource world that
  # exports (GuestResource) or imports (HostResource) it.
  defp source(macro, {:r, resource}) do
    direction = if macro == Wasmex.Components.GuestResource, do: "export", else: "import"
    wit = "package a:b; interface i { resource r { #{resource} } } world w { #{direction} i; }"
    source(macro, "wit: #{inspect(wit)}, resource: \"r\"")
  end

  defp source(macro, use_source) do
    """
    defmodule #{inspect(unique_module(__MODULE__))} do
      use #{inspect(macro)}, #{use_source}
    end
    """
  end

  for {macro, rows} <- [
        {Wasmex.Components.GuestResource, @guest},
        {Wasmex.Components.HostResource, @host}
      ] do
    describe "use #{inspect(macro)}" do
      for {name, raises} <- rows do
        test name do
          for {exception, message, use_source} <- unquote(Macro.escape(raises)) do
            assert_compile_error(exception, message, source(unquote(macro), use_source))
          end
        end
      end
    end
  end

  test "the table has a row for every test the two macro suites had" do
    assert length(@guest) == 11
    assert length(@host) == 15
    assert Enum.sum(for {_, raises} <- @guest ++ @host, do: length(raises)) == 30
  end
end
