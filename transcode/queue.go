package transcode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
)

// maxRedos bounds the search for a free redo TaskID (completed ones are kept a day,
// archived ones for months).
const maxRedos = 1000

// Queue enqueues tasks. It is safe for concurrent use.
type Queue struct {
	opt    asynq.RedisConnOpt
	client *asynq.Client
	insp   *asynq.Inspector

	mu       sync.Mutex
	monitors []*asynqmon.HTTPHandler
}

// NewQueue connects to the Redis at redisURL: redis://[:password@]host:port[/db],
// rediss:// for TLS, or redis-sentinel://[:password@]host1:port,host2:port?master=name.
// It does not dial: the first enqueue does.
func NewQueue(redisURL string) (*Queue, error) {
	opt, err := RedisOpt(redisURL)
	if err != nil {
		return nil, err
	}
	return &Queue{opt: opt, client: asynq.NewClient(opt), insp: asynq.NewInspector(opt)}, nil
}

// RedisOpt parses a Redis URL (see NewQueue) into asynq's connection options. For
// Sentinel the password is used for the Sentinels and for the master alike.
func RedisOpt(redisURL string) (asynq.RedisConnOpt, error) {
	if redisURL == "" {
		return nil, errors.New("transcode: empty Redis URL")
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return nil, fmt.Errorf("transcode: Redis URL %s: %w", Redact(redisURL), err)
	}
	switch o := opt.(type) {
	case asynq.RedisFailoverClientOpt:
		if o.MasterName == "" {
			return nil, fmt.Errorf("transcode: Redis URL %s: Sentinel needs ?master=name", Redact(redisURL))
		}
		o.Password = o.SentinelPassword
		return o, nil
	case asynq.RedisClientOpt:
		if o.Addr == "" {
			return nil, fmt.Errorf("transcode: Redis URL %s: no host", Redact(redisURL))
		}
	}
	return opt, nil
}

// Redact hides the password of a Redis URL for logs and errors.
func Redact(redisURL string) string {
	u, err := url.Parse(redisURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// EnqueueLadder queues the ladder of an asset. An asset already queued, running, or
// done within the retention period is not queued again: that returns nil, so callers
// (the recorder on restart, an upload retried by the client) can call it freely.
func (q *Queue) EnqueueLadder(ctx context.Context, p LadderV1) error {
	t, err := ladderTask(p, 0)
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transcode: enqueue ladder of asset %s: %w", p.AssetID, err)
	}
	return nil
}

// Reprocess queues the ladder of an asset again, for an admin's redo (a failed asset,
// a new preset). Each redo has its own TaskID, "ladder:<asset>:<n>", since the first
// one stays reserved for a while after it finished. If a run of this asset is already
// queued or running, no new one is added. It returns the TaskID of the run to expect.
func (q *Queue) Reprocess(ctx context.Context, p LadderV1) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	qname, _ := queueFor(p.Origin)
	for redo := 0; redo < maxRedos; redo++ {
		id := LadderTaskID(p.AssetID, redo)
		info, err := q.insp.GetTaskInfo(qname, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			t, err := ladderTask(p, redo)
			if err != nil {
				return "", err
			}
			_, err = q.client.EnqueueContext(ctx, t)
			if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) { // conflict: a racing redo won
				return "", fmt.Errorf("transcode: reprocess asset %s: %w", p.AssetID, err)
			}
			return id, nil
		case err != nil:
			return "", fmt.Errorf("transcode: reprocess asset %s: %w", p.AssetID, err)
		}
		switch info.State {
		case asynq.TaskStateCompleted, asynq.TaskStateArchived:
			continue // finished: the next redo number
		default:
			return id, nil // pending, scheduled, active or waiting to retry: it will run
		}
	}
	return "", fmt.Errorf("transcode: reprocess asset %s: %d redos are still on record; delete some in the queue UI", p.AssetID, maxRedos)
}

// Monitor returns the asynq web UI (asynqmon) serving under rootPath (such as
// "/admin/queues"), with write actions (retry, delete, pause) enabled: mount it behind
// admin authentication only. Close releases its connections.
func (q *Queue) Monitor(rootPath string) http.Handler {
	rootPath = "/" + strings.Trim(rootPath, "/")
	h := asynqmon.New(asynqmon.Options{RootPath: rootPath, RedisConnOpt: q.opt, ReadOnly: false})
	q.mu.Lock()
	q.monitors = append(q.monitors, h)
	q.mu.Unlock()
	return h
}

// Close releases the connections to Redis.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	errs := []error{q.client.Close(), q.insp.Close()}
	for _, m := range q.monitors {
		errs = append(errs, m.Close())
	}
	q.monitors = nil
	return errors.Join(errs...)
}
