defmodule Wasmex.Features.ImportErrorsTest do
  # An Elixir import that returns the wrong value, or raises, fails the call with an error that
  # names the import first, before the wasm backtrace (issue 8 item 5); the 0.15.1 texts follow.
  use Wasmex.ComponentCase, async: true

  import ExUnit.CaptureLog

  defp first_line(message), do: message |> String.split("\n") |> hd()
  defp call(pid, name, args), do: Wasmex.Components.call_function(pid, name, args)

  describe "component imports" do
    test "a bare string where a result is expected names the import and the shapes" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-fail" => {:fn, fn -> "x" end}})
        )

      assert {:error, message} = call(pid, "call-host-fail", [])

      assert first_line(message) =~
               ~r/^Error executing function: host-fail: expected \{:ok, u32\} or \{:error, string\}, got "x" \(/

      assert message =~ "the elixir callback threw an exception: invalid return value: "
    end

    test "an interface function is named with its interface" do
      imports =
        importer_imports(%{"wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn _ -> 42 end}}})

      pid = start_component!("component_imports", imports: imports)
      assert {:error, message} = call(pid, "call-greet", ["x"])

      assert first_line(message) =~
               ~r/^Error executing function: wasmex:test\/host@0.1.0#greet: expected string, got 42 \(/
    end

    test "a raising import is named, with the exception's banner" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-add" => {:fn, fn _, _ -> raise "no adding" end}})
        )

      capture_log(fn ->
        assert {:error, message} = call(pid, "call-host-add", [1, 2])

        assert first_line(message) ==
                 "Error executing function: host-add: the elixir callback threw an exception: ** (RuntimeError) no adding"
      end)
    end
  end

  describe "core imports" do
    @wat """
    (module
      (import "env" "get" (func $get (result i32)))
      (func (export "run") (result i32) call $get))
    """

    defp run_core(fun) do
      imports = %{"env" => %{"get" => {:fn, [], [:i32], fun}}}
      {:ok, pid} = Wasmex.start_link(%{bytes: @wat, imports: imports})
      Wasmex.call_function(pid, "run", [])
    end

    test "a wrong value names the import and the result types" do
      assert {:error, message} = run_core(fn _context -> "x" end)

      assert first_line(message) =~
               ~r/^Error during function excecution: env::get: expected \[i32\], got "x" \(/

      assert message =~ "the elixir callback threw an exception"
    end

    test "a raising import is named" do
      capture_log(fn ->
        assert {:error, message} = run_core(fn _context -> throw(:up) end)

        assert first_line(message) ==
                 "Error during function excecution: env::get: the elixir callback threw an exception: ** (throw) :up"
      end)
    end
  end
end
