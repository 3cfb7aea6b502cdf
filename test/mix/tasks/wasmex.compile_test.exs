defmodule Mix.Tasks.Wasmex.CompileTest do
  # Sets the application environment and captures the shell: not async.
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  alias Mix.Tasks.Wasmex.Compile

  doctest Mix.Wasmex.CompilerFlag

  setup do
    dir =
      Path.join(System.tmp_dir!(), "wasmex_compile_task_#{System.unique_integer([:positive])}")

    File.mkdir_p!(dir)
    Wasmex.TestHelpers.isolate_cache_dir!()
    on_exit(fn -> File.rm_rf!(dir) end)

    %{dir: dir}
  end

  defp write!(dir, name, contents) do
    path = Path.join(dir, name)
    File.write!(path, contents)
    path
  end

  defp run(args), do: capture_io(fn -> Compile.run(args) end)

  test "fills --cache-dir with a module and a component; the files are loaded later", %{dir: dir} do
    tag = System.unique_integer([:positive])
    wat = ~s[(module $task#{tag} (func (export "tag") (result i32) i32.const #{tag}))]
    module = write!(dir, "m.wat", wat)
    component = write!(dir, "c.wat", "(component $task#{tag})")
    cache = Path.join(dir, "cache")

    output = run(["--cache-dir", cache, module, component])
    assert output =~ "m.wat: module, "
    assert output =~ "c.wat: component, "
    assert output =~ "compiled code cached in #{cache}"
    assert [m] = Path.wildcard(Path.join(cache, "*.cwasm"))
    assert [_] = Path.wildcard(Path.join(cache, "*.ccwasm"))

    # An application with the same engine settings loads the module instead of compiling it.
    inode = File.stat!(m).inode
    {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{cache_dir: cache})
    {:ok, store} = Wasmex.Store.new(nil, engine)
    {:ok, compiled} = Wasmex.Module.compile(store, wat)
    {:ok, instance} = Wasmex.Instance.new(store, compiled, %{})
    assert Wasmex.Instance.call(store, instance, "tag", []) == {:ok, [tag]}
    assert File.stat!(m).inode == inode
  end

  test "uses the configured :cache_dir; --fuel compiles for a fuel-metered engine", %{dir: dir} do
    module = write!(dir, "m.wat", "(module $fuel#{System.unique_integer([:positive])})")
    Application.put_env(:wasmex, :cache_dir, dir)
    run([module])
    run(["--fuel", module])
    assert [_, _] = Path.wildcard(Path.join(dir, "*.cwasm"))
  end

  test "--compiler winch fills a file of its own, which a Winch engine loads", %{dir: dir} do
    tag = System.unique_integer([:positive])
    wat = ~s[(module $winch#{tag} (func (export "tag") (result i32) i32.const #{tag}))]
    module = write!(dir, "m.wat", wat)
    cache = Path.join(dir, "cache")
    run(["--cache-dir", cache, module])
    [cranelift] = Path.wildcard(Path.join(cache, "*.cwasm"))
    assert run(["--cache-dir", cache, "--compiler", "winch", module]) =~ "m.wat: module, "
    assert [winch] = Path.wildcard(Path.join(cache, "*.cwasm")) -- [cranelift]

    inode = File.stat!(winch).inode
    config = %Wasmex.EngineConfig{cache_dir: cache, compiler: :winch}
    {:ok, engine} = Wasmex.Engine.new(config)
    {:ok, store} = Wasmex.Store.new(nil, engine)
    {:ok, compiled} = Wasmex.Module.compile(store, wat)
    {:ok, instance} = Wasmex.Instance.new(store, compiled, %{})
    assert Wasmex.Instance.call(store, instance, "tag", []) == {:ok, [tag]}
    assert File.stat!(winch).inode == inode
    assert length(Path.wildcard(Path.join(cache, "*.cwasm"))) == 2

    assert_raise Mix.Error, ~s(--compiler must be cranelift or winch, got: "llvm"), fn ->
      run(["--cache-dir", cache, "--compiler", "llvm", module])
    end
  end

  test "a file that does not compile or cannot be read fails the task", %{dir: dir} do
    bad = write!(dir, "bad.wat", "(module")
    cache = Path.join(dir, "cache")

    assert_raise Mix.Error, ~r/cannot compile .*bad.wat: Error while parsing bytes/, fn ->
      run(["--cache-dir", cache, bad])
    end

    assert_raise Mix.Error, ~r/cannot read .*missing.wasm/, fn ->
      run(["--cache-dir", cache, Path.join(dir, "missing.wasm")])
    end

    assert_raise Mix.Error, ~r/usage: mix wasmex.compile/, fn -> run([]) end
  end
end
