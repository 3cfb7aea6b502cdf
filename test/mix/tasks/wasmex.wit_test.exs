defmodule Mix.Tasks.Wasmex.WitTest do
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  defp wit(args), do: capture_io(fn -> Mix.Tasks.Wasmex.Wit.run(args) end)

  test "prints a command component's world and the packages it uses" do
    text = wit(["test/fixtures/components/json_command.wasm"])
    assert text =~ "package root:component;"
    assert text =~ ~r/world root \{.*export wasi:cli\/run@0\.2\.\d+;.*\}/s
    assert text =~ ~r/package wasi:cli@0\.2\.\d+ \{/
    assert text =~ "interface run {"
  end

  test "prints exported functions with their types" do
    text = wit(["test/fixtures/components/component_types.wasm"])
    assert text =~ "export add: func(a: u32, b: u32) -> u32;"
    assert text =~ "export wasmex:test/math@0.1.0;"
  end

  test "reads component WAT text" do
    dir = System.tmp_dir!()
    file = Path.join(dir, "wit_task_#{System.unique_integer([:positive])}.wat")
    File.write!(file, ~S[(component (import "f" (func)))])
    on_exit(fn -> File.rm(file) end)
    assert wit([file]) =~ "import f: func();"
  end

  test "refuses core modules, junk and bad usage" do
    assert_raise Mix.Error, ~r/is not a component/, fn ->
      wit(["test/fixtures/json_command.wasm"])
    end

    assert_raise Mix.Error, ~r/usage: mix wasmex.wit FILE/, fn -> wit([]) end
    assert_raise Mix.Error, ~r/cannot read nope.wasm/, fn -> wit(["nope.wasm"]) end
  end
end
