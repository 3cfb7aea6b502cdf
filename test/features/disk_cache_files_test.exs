defmodule Wasmex.Features.DiskCacheFilesTest do
  # The compiled-code cache's files after loading (native/wasmex/src/cache/disk.rs, snapshot.rs):
  # temporary files a crashed writer left behind are removed once stale, and code loaded from a
  # cache file keeps running as verified whatever happens to the file afterwards. Each compile
  # uses a fresh engine, so it reaches the disk cache, as a new VM would.
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance}

  # `STALE` in disk.rs: ten minutes.
  @stale_s 10 * 60

  setup do
    dir = Path.join(System.tmp_dir!(), "wasmex_cache_files_#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir, tag: System.unique_integer([:positive])}
  end

  defp wat(tag), do: ~s[(module $f#{tag} (func (export "tag") (result i32) i32.const #{tag}))]

  defp instance!(dir, bytes) do
    {:ok, engine} = Engine.new(%EngineConfig{cache_dir: dir})
    {:ok, store} = Wasmex.Store.new(nil, engine)
    {:ok, module} = Wasmex.Module.compile(store, bytes)
    {:ok, instance} = Instance.new(store, module, %{})
    {store, instance}
  end

  defp tag(dir, bytes) do
    {store, instance} = instance!(dir, bytes)
    {:ok, [tag]} = Instance.call(store, instance, "tag", [])
    tag
  end

  test "a crashed writer's temporary file is removed once stale; a live writer's is kept", %{
    dir: dir,
    tag: tag
  } do
    File.mkdir_p!(dir)
    stale = Path.join(dir, ".tmp-1-0-0")
    live = Path.join(dir, ".tmp-2-0-0")
    File.write!(stale, "half a file")
    File.write!(live, "a file being written")
    File.touch!(stale, System.os_time(:second) - @stale_s - 60)

    assert tag(dir, wat(tag)) == tag
    refute File.exists?(stale)
    assert File.exists?(live)
    assert [cached] = Path.wildcard(Path.join(dir, "*.cwasm"))
    assert File.ls!(dir) |> Enum.sort() == Enum.sort([Path.basename(cached), ".tmp-2-0-0"])
  end

  test "code loaded from a cache file runs as verified after the file changes in place", %{
    dir: dir,
    tag: tag
  } do
    assert tag(dir, wat(tag)) == tag
    [file] = Path.wildcard(Path.join(dir, "*.cwasm"))
    inode = File.stat!(file).inode
    {store, instance} = instance!(dir, wat(tag))
    assert File.stat!(file).inode == inode, "the second compile did not load the file"

    # Another module's code written over the loaded file's payload in place (same inode; the
    # header is 80 bytes), then the file cut short: the loaded code is a sealed private copy,
    # so neither reaches it (code mapped from the file itself would run the other module's
    # code, or fault on the missing pages).
    {:ok, other_store} = Wasmex.Store.new()
    {:ok, other_module} = Wasmex.Module.compile(other_store, wat(tag + 1))
    {:ok, serialized} = Wasmex.Module.serialize(other_module)
    {:ok, device} = :file.open(String.to_charlist(file), [:read, :write, :raw, :binary])
    :ok = :file.pwrite(device, 80, serialized)
    :ok = :file.close(device)
    assert File.stat!(file).inode == inode

    assert {:ok, [^tag]} = Instance.call(store, instance, "tag", [])
    File.write!(file, "")
    assert {:ok, [^tag]} = Instance.call(store, instance, "tag", [])
  end
end
