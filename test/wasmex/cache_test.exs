defmodule Wasmex.CacheTest do
  # Sets the application environment: not async.
  use Wasmex.Case, async: false

  alias Wasmex.Cache

  setup do
    dir = Path.join(System.tmp_dir!(), "wasmex_cache_test_#{System.unique_integer([:positive])}")
    Wasmex.TestHelpers.isolate_cache_dir!()
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir}
  end

  defp unique_module, do: "(module $m#{System.unique_integer([:positive])})"

  defp compile_with!(bytes, engine \\ nil) do
    {:ok, store} = Wasmex.Store.new(nil, engine)
    {:ok, _module} = Wasmex.Module.compile(store, bytes)
  end

  defp cached(dir), do: Path.wildcard(Path.join(dir, "*.cwasm"))

  describe "dir/0" do
    test "is the application's :cache_dir, read at each call", %{dir: dir} do
      assert Cache.dir() == nil
      Application.put_env(:wasmex, :cache_dir, dir)
      assert Cache.dir() == dir
    end

    test "raises ArgumentError naming the option for a value that is not a path" do
      Application.put_env(:wasmex, :cache_dir, :somewhere)
      assert_raise ArgumentError, ~r/:cache_dir .* got: :somewhere/, fn -> Cache.dir() end
    end
  end

  describe "the application's cache directory" do
    test "is off by default", %{dir: dir} do
      compile_with!(unique_module())
      refute File.exists?(dir)
    end

    test "set at runtime, is used by the next compile (of the default engine)", %{dir: dir} do
      Application.put_env(:wasmex, :cache_dir, dir)
      compile_with!(unique_module())
      assert [_] = cached(dir)

      Application.delete_env(:wasmex, :cache_dir)
      compile_with!(unique_module())
      assert [_] = cached(dir)
    end

    test "an engine's own cache_dir wins over it", %{dir: dir} do
      own = Path.join(dir, "own")
      Application.put_env(:wasmex, :cache_dir, Path.join(dir, "app"))
      {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{cache_dir: own})
      compile_with!(unique_module(), engine)
      assert [_] = cached(own)
      assert cached(Path.join(dir, "app")) == []
    end
  end

  describe "enable/1" do
    test "sets the directory when none is configured, else keeps the configured one", %{dir: dir} do
      assert Cache.enable(dir) == dir
      assert Cache.dir() == dir
      assert Cache.enable("/elsewhere") == dir
      assert Cache.dir() == dir
    end

    test "defaults to default_dir/0" do
      assert Cache.enable() == Cache.default_dir()
    end
  end
end
