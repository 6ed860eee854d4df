import LLMQCore

extension TokenizerData {
    /// Whether a vocabulary adds BOS when its file does not say, as llama.cpp decides for a GGUF
    /// file without `tokenizer.ggml.add_bos_token` (`llama_vocab::impl::load`) and transformers for
    /// its tokenizer classes: SentencePiece (Llama) vocabularies add BOS; GPT-2 byte-level BPE ones
    /// only under the pre-tokenizers llama.cpp marks so (Llama 3 and its kin) — not SmolLM2's or
    /// GPT-2's. Readers start from this and apply what the file says (`formats/README.md`).
    public static func defaultAddsBOS(_ kind: Kind, preTokenizer: String?) -> Bool {
        switch kind {
        case .sentencePiece: true
        case .byteLevelBPE: preTokenizer.map(bpePreTokenizersAddingBOS.contains) ?? false
        }
    }

    /// llama.cpp's pre-tokenizer names whose vocabularies add BOS by default.
    static let bpePreTokenizersAddingBOS: Set<String> = [
        "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon",
    ]
}
