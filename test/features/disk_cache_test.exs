defmodule Wasmex.Features.DiskCacheTest do
  # The compiled-code cache on disk (lib/wasmex/cache.ex, native/wasmex/src/cache/disk.rs).
  # Every compile here uses a fresh engine: the in-memory cache is per engine, so each compile
  # reaches the disk cache, as a new VM would.
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance}
  alias Wasmex.Components.{Component, Store}

  setup do
    dir = Path.join(System.tmp_dir!(), "wasmex_disk_cache_#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)
    %{dir: dir, tag: System.unique_integer([:positive])}
  end

  defp module_wat(tag),
    do: ~s[(module $m#{tag} (func (export "tag") (result i32) i32.const #{tag}))]

  defp component_wat(tag) do
    ~s"""
    (component
      (core module $m (func (export "f") (result i32) i32.const #{tag}))
      (core instance $i (instantiate $m))
      (func (export "tag") (result u32) (canon lift (core func $i "f"))))
    """
  end

  defp engine!(dir, config \\ %EngineConfig{}) do
    {:ok, engine} = Engine.new(%{config | cache_dir: dir})
    engine
  end

  # Compiles the module with a fresh engine caching in `dir` and calls its `tag` export.
  defp module_tag(dir, bytes, config \\ %EngineConfig{}) do
    {:ok, store} = Wasmex.Store.new(nil, engine!(dir, config))
    if config.consume_fuel, do: :ok = Wasmex.StoreOrCaller.set_fuel(store, 10_000)
    {:ok, module} = Wasmex.Module.compile(store, bytes)
    {:ok, instance} = Instance.new(store, module, %{})
    {:ok, [tag]} = Instance.call(store, instance, "tag", [])
    tag
  end

  defp component_tag(dir, bytes) do
    {:ok, store} = Store.new(nil, engine!(dir))
    {:ok, component} = Component.new(store, bytes)
    {:ok, instance} = Wasmex.Components.Instance.new(store, component, %{})
    {:ok, tag} = Wasmex.Components.Instance.call(instance, "tag", [])
    tag
  end

  defp files(dir, ext \\ "cwasm"), do: dir |> Path.join("*.#{ext}") |> Path.wildcard()
  defp inode(path), do: File.stat!(path).inode

  # A cache file as the cache writes it (see disk.rs): magic, key, payload digest, length,
  # payload. The digest is the SHA-256 of a tag, the length and the SHA-256s of 4 MiB chunks.
  defp cache_file(key, payload),
    do: "WASMEXC1" <> key <> digest(payload) <> <<byte_size(payload)::little-64>> <> payload

  defp digest(payload) do
    chunks = for <<chunk::binary-size(4_194_304) <- payload>>, do: chunk
    rest = binary_part(payload, 4_194_304 * length(chunks), rem(byte_size(payload), 4_194_304))
    chunks = if rest == "", do: chunks, else: chunks ++ [rest]
    hashes = Enum.map(chunks, &:crypto.hash(:sha256, &1))
    :crypto.hash(:sha256, ["wasmex-chunks-4MiB", 0, <<byte_size(payload)::little-64>> | hashes])
  end

  defp valid?(path) do
    <<"WASMEXC1", _key::binary-32, digest::binary-32, len::little-64, payload::binary>> =
      File.read!(path)

    byte_size(payload) == len and digest(payload) == digest
  end

  describe "core modules" do
    test "the first compile writes a file; the next compile loads it", %{dir: dir, tag: tag} do
      assert module_tag(dir, module_wat(tag)) == tag
      assert [file] = files(dir)
      assert valid?(file)
      inode = inode(file)
      assert module_tag(dir, module_wat(tag)) == tag
      assert inode(file) == inode, "the file was written again: it was not loaded"
      assert [_] = files(dir)
    end

    test "a corrupted file is never loaded: compiled again and rewritten", %{dir: dir, tag: tag} do
      assert module_tag(dir, module_wat(tag)) == tag
      [file] = files(dir)
      contents = File.read!(file)
      at = div(byte_size(contents), 2)
      <<before::binary-size(at), byte, rest::binary>> = contents
      File.write!(file, <<before::binary, Bitwise.bxor(byte, 0xFF), rest::binary>>)
      inode = inode(file)

      assert module_tag(dir, module_wat(tag)) == tag
      assert inode(file) != inode
      assert valid?(file)
    end

    test "a truncated or empty file is compiled again", %{dir: dir, tag: tag} do
      assert module_tag(dir, module_wat(tag)) == tag
      [file] = files(dir)
      contents = File.read!(file)

      for cut <- [byte_size(contents) - 1, 90, 40, 0] do
        File.write!(file, binary_part(contents, 0, cut))
        assert module_tag(dir, module_wat(tag)) == tag
        assert valid?(file)
        assert File.stat!(file).size == byte_size(contents)
      end
    end

    test "a file copied over another's name is not loaded", %{dir: dir, tag: tag} do
      assert module_tag(dir, module_wat(tag)) == tag
      [a] = files(dir)
      assert module_tag(dir, module_wat(tag + 1)) == tag + 1
      [b] = files(dir) -- [a]
      File.cp!(b, a)

      # A's file now holds B's (intact) code: loading it would answer B's tag.
      assert module_tag(dir, module_wat(tag)) == tag
      assert module_tag(dir, module_wat(tag + 1)) == tag + 1
      assert File.read!(a) != File.read!(b)
    end

    test "a payload of another wasmtime version or engine is compiled again", %{
      dir: dir,
      tag: tag
    } do
      assert module_tag(dir, module_wat(tag)) == tag
      [file] = files(dir)
      <<"WASMEXC1", key::binary-32, _::binary>> = File.read!(file)

      # Code a fuel-counting engine compiled, under this key with a header that verifies:
      # wasmtime's own check refuses it.
      {:ok, store} = Wasmex.Store.new(nil, engine!(nil, %EngineConfig{consume_fuel: true}))
      {:ok, module} = Wasmex.Module.compile(store, module_wat(tag + 7))
      {:ok, fueled} = Wasmex.Module.serialize(module)
      File.write!(file, cache_file(key, fueled))
      inode = inode(file)
      assert module_tag(dir, module_wat(tag)) == tag
      assert inode(file) != inode

      # The same code with the wasmtime version it records changed (its major version, in the
      # engine section: a format byte 0, the text's length, the text).
      payload = File.read!(file) |> binary_part(80, File.stat!(file).size - 80)
      {at, 4} = :binary.match(payload, <<0, 2, "48">>)
      <<head::binary-size(at), _::binary-4, tail::binary>> = payload
      older = head <> <<0, 2, "47">> <> tail
      File.write!(file, cache_file(key, older))
      inode = inode(file)
      assert module_tag(dir, module_wat(tag)) == tag
      assert inode(file) != inode
      assert valid?(file)
    end

    test "engine settings are part of the key", %{dir: dir, tag: tag} do
      assert module_tag(dir, module_wat(tag)) == tag
      assert module_tag(dir, module_wat(tag), %EngineConfig{consume_fuel: true}) == tag
      assert [_, _] = files(dir)
    end

    test "concurrent writers leave one whole file and no temporary files", %{dir: dir, tag: tag} do
      1..8
      |> Enum.map(fn _ -> Task.async(fn -> module_tag(dir, module_wat(tag)) end) end)
      |> Enum.each(&assert(Task.await(&1, 30_000) == tag))

      assert [file] = files(dir)
      assert valid?(file)
      assert File.ls!(dir) == [Path.basename(file)]
    end
  end

  describe "components" do
    test "the next compile loads the file; a corrupted one is compiled again", %{
      dir: dir,
      tag: tag
    } do
      assert component_tag(dir, component_wat(tag)) == tag
      assert [file] = files(dir, "ccwasm")
      inode = inode(file)
      assert component_tag(dir, component_wat(tag)) == tag
      assert inode(file) == inode

      File.write!(file, binary_part(File.read!(file), 0, 100))
      assert component_tag(dir, component_wat(tag)) == tag
      assert inode(file) != inode
      assert valid?(file)
    end

    test "a component's file copied over another's name is not loaded", %{dir: dir, tag: tag} do
      assert component_tag(dir, component_wat(tag)) == tag
      [a] = files(dir, "ccwasm")
      assert component_tag(dir, component_wat(tag + 1)) == tag + 1
      [b] = files(dir, "ccwasm") -- [a]
      File.cp!(b, a)
      assert component_tag(dir, component_wat(tag)) == tag
    end
  end

  test "an unwritable directory does not fail compiling", %{dir: dir, tag: tag} do
    File.mkdir_p!(Path.dirname(dir))
    File.write!(dir, "a file, not a directory")
    assert module_tag(dir, module_wat(tag)) == tag
  end
end
