defmodule Wasmex.PipeTest do
  use Wasmex.Case, async: true

  alias Wasmex.Pipe

  defp pipe! do
    assert {:ok, pipe} = Pipe.new()
    pipe
  end

  # A pipe holding `content`, its cursor at the end.
  defp pipe!(content) do
    pipe = pipe!()
    size = byte_size(content)
    assert {:ok, ^size} = Pipe.write(pipe, content)
    pipe
  end

  describe "new/0" do
    test "creates an empty pipe" do
      assert {:ok, %Pipe{resource: resource, reference: reference}} = Pipe.new()
      assert is_reference(resource) and is_reference(reference)
      {:ok, pipe} = Pipe.new()
      assert Pipe.size(pipe) == 0
      assert Pipe.read(pipe) == ""
    end

    test "pipes are independent" do
      a = pipe!()
      b = pipe!()
      {:ok, 3} = Pipe.write(a, "abc")
      assert Pipe.size(a) == 3
      assert Pipe.size(b) == 0
    end
  end

  describe "write/2" do
    test "returns the number of bytes written" do
      pipe = pipe!()
      assert {:ok, 5} = Pipe.write(pipe, "hello")
      assert {:ok, 0} = Pipe.write(pipe, "")
      assert {:ok, 2} = Pipe.write(pipe, "é")
    end

    test "is binary safe" do
      pipe = pipe!()
      assert {:ok, 3} = Pipe.write(pipe, <<0, 255, 128>>)
      :ok = Pipe.seek(pipe, 0)
      assert Pipe.read(pipe) == <<0, 255, 128>>
    end

    test "every byte value round trips" do
      pipe = pipe!()
      all = :binary.list_to_bin(Enum.to_list(0..255))
      assert {:ok, 256} = Pipe.write(pipe, all)
      :ok = Pipe.seek(pipe, 0)
      assert Pipe.read(pipe) == all
    end

    test "appends at the cursor" do
      pipe = pipe!()
      {:ok, 3} = Pipe.write(pipe, "abc")
      {:ok, 3} = Pipe.write(pipe, "def")
      :ok = Pipe.seek(pipe, 0)
      assert Pipe.read(pipe) == "abcdef"
    end

    test "overwrites from a position set with seek/2" do
      pipe = pipe!()
      {:ok, 6} = Pipe.write(pipe, "abcdef")
      :ok = Pipe.seek(pipe, 2)
      {:ok, 2} = Pipe.write(pipe, "XY")
      assert Pipe.size(pipe) == 6
      :ok = Pipe.seek(pipe, 0)
      assert Pipe.read(pipe) == "abXYef"
    end

    test "handles a large write" do
      pipe = pipe!()
      big = :binary.copy(<<1, 2, 3, 255>>, 262_144)
      assert {:ok, 1_048_576} = Pipe.write(pipe, big)
      assert Pipe.size(pipe) == 1_048_576
      :ok = Pipe.seek(pipe, 0)
      assert Pipe.read(pipe) == big
    end

    test "rejects a non-binary" do
      assert_raise FunctionClauseError, fn -> Pipe.write(pipe!(), ~c"abc") end
    end
  end

  describe "read/1" do
    test "reads from the cursor to the end and moves the cursor to the end" do
      pipe = pipe!()
      {:ok, 5} = Pipe.write(pipe, "hello")
      assert Pipe.read(pipe) == ""
      :ok = Pipe.seek(pipe, 1)
      assert Pipe.read(pipe) == "ello"
      assert Pipe.read(pipe) == ""
    end

    test "never blocks on an empty pipe" do
      assert Pipe.read(pipe!()) == ""
    end

    test "works from another process" do
      pipe = pipe!()
      {:ok, 4} = Pipe.write(pipe, <<9, 8, 7, 6>>)

      assert Task.async(fn ->
               :ok = Pipe.seek(pipe, 0)
               Pipe.read(pipe)
             end)
             |> Task.await() == <<9, 8, 7, 6>>
    end
  end

  describe "seek/2" do
    test "returns :ok" do
      pipe = pipe!()
      assert :ok = Pipe.seek(pipe, 0)
    end

    test "positions the cursor for reading" do
      pipe = pipe!("0123456789")
      assert :ok = Pipe.seek(pipe, 7)
      assert Pipe.read(pipe) == "789"
      assert :ok = Pipe.seek(pipe, 10)
      assert Pipe.read(pipe) == ""
    end

    test "seeking past the end reads nothing" do
      pipe = pipe!("abc")
      assert :ok = Pipe.seek(pipe, 100)
      assert Pipe.read(pipe) == ""
      assert Pipe.size(pipe) == 3
    end

    test "rejects a negative position" do
      assert_raise FunctionClauseError, fn -> Pipe.seek(pipe!(), -1) end
    end
  end

  describe "size/1" do
    test "counts every byte, whatever the cursor" do
      pipe = pipe!()
      {:ok, 3} = Pipe.write(pipe, <<0, 255, 128>>)
      assert Pipe.size(pipe) == 3
      :ok = Pipe.seek(pipe, 1)
      assert Pipe.size(pipe) == 3
      _ = Pipe.read(pipe)
      assert Pipe.size(pipe) == 3
    end
  end
end
