// Uploads one file to classcast with tus-js-client (the same client the upload
// page uses), resuming a previous upload of the same file when the URL
// storage holds one, as a browser does after a restart. The Go tests of
// internal/upload run it; it is also handy by hand:
//
//   node scripts/tusupload.mjs --endpoint http://HOST:8080/api/v1/uploads/ \
//     --file lesson.mp4 --token cct_... --title '勾股定理' [--store urls.json]
//
// It prints one JSON object per line: {"event":"previous","count":N},
// {"event":"url","url":...}, {"event":"progress","sent":N,"total":N},
// then {"event":"success","url":...} or {"event":"error","message":...,"status":N}
// and exits 0 on success, 1 on error.
import { createReadStream, statSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { FileUrlStorage, Upload } from 'tus-js-client'

const { values: a } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    file: { type: 'string' },
    token: { type: 'string', default: '' },
    title: { type: 'string', default: '' },
    store: { type: 'string', default: '' },
    'chunk-size': { type: 'string', default: String(8 << 20) },
  },
})
if (!a.endpoint || !a.file) {
  console.error('usage: tusupload.mjs --endpoint URL --file PATH [--token T] [--title T] [--store FILE]')
  process.exit(2)
}

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const size = statSync(a.file).size

const upload = new Upload(createReadStream(a.file), {
  endpoint: a.endpoint,
  uploadSize: size,
  chunkSize: Number(a['chunk-size']),
  retryDelays: [0, 500, 1000],
  metadata: { filename: basename(a.file), title: a.title },
  headers: a.token ? { Authorization: `Bearer ${a.token}` } : {},
  // Without --store, the default: no URL storage, no resuming.
  ...(a.store ? { urlStorage: new FileUrlStorage(a.store) } : {}),
  storeFingerprintForResuming: Boolean(a.store),
  removeFingerprintOnSuccess: true,
  onUploadUrlAvailable: () => say({ event: 'url', url: upload.url }),
  onProgress: (sent, total) => say({ event: 'progress', sent, total }),
  onSuccess: () => {
    say({ event: 'success', url: upload.url })
    // No process.exit here: tus-js-client is still removing the finished
    // upload from the URL storage. Node exits when that is done.
    process.exitCode = 0
  },
  onError: (err) => {
    const res = err.originalResponse
    say({
      event: 'error',
      message: res ? res.getBody() || err.message : err.message,
      status: res ? res.getStatus() : 0,
    })
    process.exit(1)
  },
})

const previous = await upload.findPreviousUploads()
say({ event: 'previous', count: previous.length })
if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
upload.start()
