import LLMQCore
import Testing

@Suite("strict JSON")
struct JSONParserTests {
    @Test("objects keep member order; integers stay exact; escapes and surrogate pairs decode; text round-trips")
    func parses() throws {
        let text = #"{"z": [1, -0, 9007199254740993, 18446744073709551616, 2.5e-3, true, null], "a": "\u00e9\ud83d\ude00\n\"/"}"#
        let v = try JSONParser.parse(text)
        #expect(v.members?.map(\.key) == ["z", "a"])
        #expect(v["z"] == .array([.integer(1), .integer(0), .integer(9_007_199_254_740_993), .number(18446744073709551616),
                                  .number(0.0025), .bool(true), .null]))
        #expect(v["a"]?.string == "é😀\n\"/")
        #expect(try JSONParser.parse(v.serialized) == v)
        #expect(try JSONParser.parse(v.pretty) == v)
        #expect(JSONValue.string("a\u{1}\t").serialized == #""a\u0001\t""#)
    }

    @Test("grammar violations are errors with the offset", arguments: [
        ("01", 0), ("1.", 2), (".5", 0), ("-", 1), ("+1", 0), ("1e", 2), ("[1,]", 3), ("{'a':1}", 1), ("NaN", 0),
        ("[1 2]", 3), (#"{"a" 1}"#, 5), (#""abc"#, 0), ("1e999", 0), ("tru", 0), (#"{"a":1,"a":2}"#, 7), ("", 0),
    ])
    func rejects(text: String, offset: Int) throws {
        do {
            let v = try JSONParser.parse(text)
            Issue.record("parsed \(text) as \(v)")
        } catch let e as LLMQError {
            #expect(e.kind == .invalid)
            #expect(e.offset == offset, "\(text): \(e)")
            #expect(e.message.hasPrefix("invalid JSON: "))
        }
    }

    @Test("depth and value budgets bound what a hostile document can make llmq build")
    func limits() throws {
        let limits = JSONParser.Limits(maxDepth: 3, maxValues: 5)
        #expect(try JSONParser.parse("[[[1]]]", limits: limits) == .array([.array([.array([.integer(1)])])]))
        #expect(throws: LLMQError.self) { try JSONParser.parse("[[[[1]]]]", limits: limits) }
        #expect(try JSONParser.parse("[1,2,3,4]", limits: limits).array?.count == 4)
        #expect(throws: LLMQError.self) { try JSONParser.parse("[1,2,3,4,5]", limits: limits) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: LLMQError.self) { try JSONParser.parse(deep) }
    }
}
