defmodule Wasmex.Components.ComponentServerTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components

  @moduletag :capture_log

  defmodule TypesServer do
    @moduledoc false
    use Wasmex.Components.ComponentServer, wit: "test/fixtures/components/types.wit"
  end

  defmodule RawTypesServer do
    @moduledoc false
    use Wasmex.Components.ComponentServer,
      wit: "test/fixtures/components/types.wit",
      convert_field_names: false
  end

  defmodule ImporterServer do
    @moduledoc false
    use Wasmex.Components.ComponentServer,
      component: "test/fixtures/components/component_imports.wasm",
      imports: %{
        "host-add" => {:fn, fn a, b -> a + b end},
        "host-fail" => {:fn, fn -> {:ok, 99} end},
        "wasmex:test/host@0.1.0" => %{"greet" => {:fn, &ImporterServer.greet/1}}
      }

    def greet(name), do: "Hi #{name}"
  end

  defmodule WasiServer do
    @moduledoc false
    use Wasmex.Components.ComponentServer,
      component: "test/fixtures/components/component_wasi.wasm"
  end

  # The world-level exports of wasm/component_types/wit/types.wit with their parameter counts
  # (the `math` interface export gets no wrapper).
  @types_exports %{
    echo_bool: 1,
    echo_s8: 1,
    echo_s16: 1,
    echo_s32: 1,
    echo_s64: 1,
    echo_u8: 1,
    echo_u16: 1,
    echo_u32: 1,
    echo_u64: 1,
    echo_f32: 1,
    echo_f64: 1,
    echo_char: 1,
    echo_string: 1,
    echo_list_u8: 1,
    echo_list_string: 1,
    echo_tuple: 1,
    echo_point: 1,
    echo_kebab_record: 1,
    echo_shape: 1,
    echo_color: 1,
    echo_perms: 1,
    echo_option: 1,
    echo_result: 1,
    echo_result_no_ok: 1,
    echo_result_no_err: 1,
    echo_result_empty: 1,
    add: 2,
    no_result: 0,
    make_points: 1,
    string_length: 1,
    counter_inc: 0,
    spin: 0,
    trap: 0
  }

  defp types!(module \\ TypesServer) do
    assert {:ok, pid} = module.start_link(path: component_path("component_types"))
    pid
  end

  # The wrapper functions a generated module defines (everything but start_link/child_spec).
  defp wrappers(module) do
    module.__info__(:functions)
    |> Enum.reject(fn {name, _} -> name in [:start_link, :child_spec] end)
    |> Enum.sort()
  end

  describe "use with :wit" do
    test "generates one wrapper per world export: arity params + 1 and params + 2 (timeout)" do
      expected =
        @types_exports
        |> Enum.flat_map(fn {name, params} -> [{name, params + 1}, {name, params + 2}] end)
        |> Enum.sort()

      assert wrappers(TypesServer) == expected
    end

    test "no wrapper for interface exports or kebab-case names" do
      refute function_exported?(TypesServer, :"echo-bool", 2)
      refute function_exported?(TypesServer, :math, 1)
      assert function_exported?(TypesServer, :add, 3)
    end

    test "start_link/1 and the wrappers call the component" do
      pid = types!()
      assert {:ok, 3} = TypesServer.add(pid, 1, 2)
      assert {:ok, []} = TypesServer.no_result(pid)
      assert {:ok, "hi"} = TypesServer.echo_string(pid, "hi")
      assert {:ok, 1} = TypesServer.counter_inc(pid)
      assert {:ok, 2} = TypesServer.counter_inc(pid)
    end

    test "start_link/1 accepts :bytes and a :name", %{name: name} do
      assert {:ok, pid} =
               TypesServer.start_link(bytes: component_bytes("component_types"), name: name)

      assert Process.whereis(name) == pid
      assert {:ok, 9} = TypesServer.add(name, 4, 5)
    end

    test "start_link/1 returns errors" do
      assert {:error, "Unable to decode WASM: " <> _} = TypesServer.start_link(bytes: "junk")
    end

    test "the timeout variant stops a spinning guest" do
      pid = types!()
      {ms, result} = timed_ms(fn -> TypesServer.spin(pid, 100) end)
      assert result == {:error, :timeout}
      # Far below the 5000 ms default: the wrapper passed the timeout on.
      assert ms < 1_000
      assert {:ok, 1} = TypesServer.counter_inc(pid, 1_000)
    end

    test "errors pass through unconverted" do
      pid = types!()
      assert {:error, message} = TypesServer.trap(pid)
      assert message =~ "unreachable"

      assert {:error, "Expected 2 fields, got 1 - missing fields: y (argument 1)"} =
               TypesServer.echo_point(pid, %{x: 1})
    end

    test "snake_case keys go in and come out (convert_field_names defaults to true)" do
      pid = types!()

      record = %{
        first_name: "Ada",
        age_years: 36,
        tags: ["x"],
        maybe_points: {:some, [%{x: 1, y: -1}]}
      }

      assert {:ok, ^record} = TypesServer.echo_kebab_record(pid, record)
    end

    test "kebab-case atom keys also go in; the result has snake_case keys" do
      pid = types!()

      assert {:ok, %{first_name: "Ada", age_years: 1, tags: [], maybe_points: :none}} =
               TypesServer.echo_kebab_record(pid, %{
                 "first-name": "Ada",
                 "age-years": 1,
                 tags: [],
                 "maybe-points": :none
               })
    end

    test "options, results, variants and tuples pass through the conversion intact" do
      pid = types!()
      assert {:ok, {:some, 5}} = TypesServer.echo_option(pid, {:some, 5})
      assert {:ok, :none} = TypesServer.echo_option(pid, :none)
      assert {:ok, {:ok, "yes"}} = TypesServer.echo_result(pid, {:ok, "yes"})
      assert {:ok, {:error, "no"}} = TypesServer.echo_result(pid, {:error, "no"})
      assert {:ok, :ok} = TypesServer.echo_result_no_ok(pid, :ok)
      assert {:ok, {:circle, 2.5}} = TypesServer.echo_shape(pid, {:circle, 2.5})

      assert {:ok, {:rectangle, {1.0, 2.0}}} =
               TypesServer.echo_shape(pid, {:rectangle, {1.0, 2.0}})

      assert {:ok, {"kebab-text", 3}} = TypesServer.echo_tuple(pid, {"kebab-text", 3})
      assert {:ok, ["a-b"]} = TypesServer.echo_list_string(pid, ["a-b"])
    end

    test "flags and enums" do
      pid = types!()

      assert {:ok, %{read: true, exec: true}} =
               TypesServer.echo_perms(pid, %{read: true, exec: true})

      assert {:ok, :"light-blue"} = TypesServer.echo_color(pid, :"light-blue")
    end

    test "lists of records come back with converted keys" do
      pid = types!()
      assert {:ok, [%{x: 0, y: 0}, %{x: 1, y: -1}]} = TypesServer.make_points(pid, 2)
    end

    test "child_spec/1 starts the server under a supervisor, restarted after a kill", %{
      name: name
    } do
      assert %{id: ^name, start: {TypesServer, :start_link, [_]}} =
               TypesServer.child_spec(name: name, path: "x")

      assert %{id: TypesServer} = TypesServer.child_spec(path: "x")

      supervisor!([{TypesServer, name: name, path: component_path("component_types")}])

      first = Process.whereis(name)
      assert {:ok, 1} = TypesServer.counter_inc(name)
      second = kill_and_await_restart(name, first)
      assert is_pid(second)
      assert {:ok, 1} = TypesServer.counter_inc(name)
    end
  end

  describe "convert_field_names: false" do
    test "generates the same wrappers" do
      assert wrappers(RawTypesServer) == wrappers(TypesServer)
    end

    test "WIT spelling goes in and comes out" do
      pid = types!(RawTypesServer)

      record = %{
        "first-name" => "Ada",
        "age-years" => 2,
        "tags" => [],
        "maybe-points" => {:some, [%{"x" => 1, "y" => 2}]}
      }

      assert {:ok, result} = RawTypesServer.echo_kebab_record(pid, record)

      assert result == %{
               "first-name": "Ada",
               "age-years": 2,
               tags: [],
               "maybe-points": {:some, [%{x: 1, y: 2}]}
             }
    end

    test "snake_case keys are not converted, so the fields are missing" do
      pid = types!(RawTypesServer)

      assert {:error,
              "Expected 4 fields, got 1 - missing fields: first-name, age-years, maybe-points (argument 1)"} =
               RawTypesServer.echo_kebab_record(pid, %{
                 first_name: "Ada",
                 age_years: 2,
                 tags: [],
                 maybe_points: :none
               })
    end
  end

  describe "use with :component" do
    test "reads the world's exports from the component binary" do
      # greet/1 is the module's own helper used as an import.
      assert List.delete(wrappers(ImporterServer), {:greet, 1}) ==
               Enum.sort([
                 {:call_host_add, 3},
                 {:call_host_add, 4},
                 {:call_greet, 2},
                 {:call_greet, 3},
                 {:call_host_fail, 1},
                 {:call_host_fail, 2},
                 {:random_u64, 1},
                 {:random_u64, 2}
               ])

      assert wrappers(WasiServer) == [run: 1, run: 2]
    end

    test "the :imports given to use are linked" do
      assert {:ok, pid} = ImporterServer.start_link(path: component_path("component_imports"))
      assert {:ok, 5} = ImporterServer.call_host_add(pid, 2, 3)
      assert {:ok, "Hi Ada"} = ImporterServer.call_greet(pid, "Ada")
      assert {:ok, {:ok, 99}} = ImporterServer.call_host_fail(pid)
      assert {:ok, n} = ImporterServer.random_u64(pid)
      assert is_integer(n)
    end

    test "imports given at runtime are merged over the :imports of use" do
      assert {:ok, pid} =
               ImporterServer.start_link(
                 path: component_path("component_imports"),
                 imports: %{
                   "host-add" => {:fn, fn a, b -> a * b end},
                   "wasi:random/random@0.2.12" => %{"get-random-u64" => {:fn, fn -> 42 end}}
                 }
               )

      assert {:ok, 6} = ImporterServer.call_host_add(pid, 2, 3)
      assert {:ok, "Hi Bo"} = ImporterServer.call_greet(pid, "Bo")
      assert {:ok, 42} = ImporterServer.random_u64(pid)
    end

    test "a map of options works for start_link/1" do
      assert {:ok, pid} = ImporterServer.start_link(%{path: component_path("component_imports")})
      assert {:ok, 3} = ImporterServer.call_host_add(pid, 1, 2)
    end

    test "a WASI component through the wrapper" do
      assert {:ok, stdout} = Wasmex.Pipe.new()

      assert {:ok, pid} =
               WasiServer.start_link(
                 path: component_path("component_wasi"),
                 wasi: %Wasmex.Wasi.WasiP2Options{
                   args: ["tool"],
                   stdout: stdout,
                   inherit_stdin: false,
                   inherit_stderr: false
                 }
               )

      assert {:ok, "args=tool;env=;stdin=;file=none"} = WasiServer.run(pid)
      assert :ok = Wasmex.Pipe.seek(stdout, 0)
      assert Wasmex.Pipe.read(stdout) == "out: hello\n"
    end
  end

  describe "compile-time options" do
    defp compile(source) do
      Code.compile_string(source, Path.join(File.cwd!(), "test/wasmex/components/generated.ex"))
    end

    defp module_name,
      do: "Wasmex.Components.ComponentServerTest.Gen#{System.unique_integer([:positive])}"

    # Compiles a module using the macro with `options` (source text) and asserts the
    # CompileError's message matches `message`; returns the error.
    defp assert_compile_error(message, options) do
      assert_raise CompileError, message, fn ->
        compile("""
        defmodule #{module_name()} do
          use Wasmex.Components.ComponentServer, #{options}
        end
        """)
      end
    end

    test ":world picks one of several worlds" do
      wit = Wasmex.TestHelpers.fixture_path("components/two_worlds.wit")
      first = module_name()
      second = module_name()

      compile("""
      defmodule #{first} do
        use Wasmex.Components.ComponentServer, wit: #{inspect(wit)}, world: "first"
      end
      defmodule #{second} do
        use Wasmex.Components.ComponentServer, wit: #{inspect(wit)}, world: "second"
      end
      """)

      first = Module.concat([first])
      second = Module.concat([second])
      assert wrappers(first) == [add: 3, add: 4, no_result: 1, no_result: 2]
      assert wrappers(second) == [counter_inc: 1, counter_inc: 2, echo_string: 2, echo_string: 3]

      # Both worlds are subsets of the types component.
      assert {:ok, pid} = first.start_link(path: component_path("component_types"))
      assert {:ok, 7} = first.add(pid, 3, 4)
      assert {:ok, pid} = second.start_link(path: component_path("component_types"))
      assert {:ok, "x"} = second.echo_string(pid, "x")
    end

    test "several worlds without :world is a compile error" do
      wit = Wasmex.TestHelpers.fixture_path("components/two_worlds.wit")
      assert_compile_error(~r/Failed to select world: /, "wit: #{inspect(wit)}")
    end

    test "an unknown :world is a compile error" do
      wit = Wasmex.TestHelpers.fixture_path("components/two_worlds.wit")
      assert_compile_error(~r/Failed to select world: /, "wit: #{inspect(wit)}, world: \"third\"")
    end

    test "invalid WIT is a compile error naming the file" do
      dir = tmp_dir!()
      wit = Path.join(dir, "broken.wit")
      File.write!(wit, "package a:b; world w { export f: func(; }")

      error = assert_compile_error(~r/Failed to parse WIT: /, "wit: #{inspect(wit)}")
      assert Exception.message(error) =~ wit
    end

    test "a :component that is not a component is a compile error" do
      dir = tmp_dir!()
      path = Path.join(dir, "junk.wasm")
      File.write!(path, "junk")

      assert_compile_error(~r/Unable to decode WASM/, "component: #{inspect(path)}")
    end

    test "neither :wit nor :component raises ArgumentError" do
      assert_raise ArgumentError, ~r/needs :wit or :component/, fn ->
        compile("""
        defmodule #{module_name()} do
          use Wasmex.Components.ComponentServer
        end
        """)
      end
    end

    test "the wrapper calls Wasmex.Components.call_function with the WIT name" do
      pid = types!()
      assert TypesServer.echo_u32(pid, 7) == Components.call_function(pid, "echo-u32", [7])
    end
  end
end
